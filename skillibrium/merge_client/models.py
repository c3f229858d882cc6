from django.db import models
from django.utils import timezone


class FailedRequest(models.Model):
    """One request Merge answered with an error (>= 400, not 429), from any worker of the fleet: Merge counts
    them per client IP, so the fleet counts them together (see budget.py)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%H:%M:%S}"

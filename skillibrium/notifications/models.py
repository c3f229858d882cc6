from django.db import models
from django.utils import timezone


class SentNotification(models.Model):
    """One row per email kind per health transition: the unique constraint is what makes it 'at most once'."""

    event = models.ForeignKey(
        "integrations.IntegrationEvent", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32)
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="one_email_per_transition_and_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for event {self.event_id}"

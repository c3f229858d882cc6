"""The fleet's failure budget: Merge blocks a client IP that gets more than 20 error responses (429 aside) in
a rolling 10 s, and every worker shares our IP, so they count failures together, in the database.

Once the fleet has had its budget of failures in the window, no worker sends anything until the window
has room again: a fleet-wide failure (an outage, a bad key) backs off as one. The budget is half Merge's
limit, so the requests other workers already have in flight cannot take it past 20.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .errors import BackingOff

WINDOW = dt.timedelta(seconds=10)


def check() -> None:
    """Raise BackingOff, before anything is sent, while the fleet's failures fill the window."""
    from .models import FailedRequest  # the package is imported before Django's apps are ready

    since = timezone.now() - WINDOW
    failures = FailedRequest.objects.filter(at__gt=since).count()
    if failures >= settings.MERGE_FLEET_FAILURE_BUDGET:
        raise BackingOff(
            f"Skillibrium holds back its requests to Merge.dev for a few seconds: {failures} failed in the"
            " last 10 seconds across all workers."
        )


def record(status: int) -> None:
    from .models import FailedRequest

    now = timezone.now()
    FailedRequest.objects.create(at=now, status=status)
    FailedRequest.objects.filter(at__lt=now - 6 * WINDOW).delete()

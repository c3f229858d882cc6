"""Scheduled checks: the fleet poll, reminders, password-rotation warnings."""

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.tasks import task

from .monitor import poll_linked_accounts, watch_outage


@cron(IntervalTrigger(minutes=5))
@task
def poll_merge_status() -> int:
    return poll_linked_accounts().checked


@cron(IntervalTrigger(seconds=20))
@task
def watch_merge_outage() -> bool:
    return watch_outage()


@cron(IntervalTrigger(hours=1))
@task
def remind_admins() -> int:
    from skillibrium.notifications.services import send_due_reminders

    return send_due_reminders()


@cron(IntervalTrigger(hours=1))
@task
def warn_lasting_degradation() -> int:
    from skillibrium.notifications.services import warn_lasting_degradation as warn
    from skillibrium.provisioning.scope import leavers_waiting

    return warn(leavers_waiting=leavers_waiting)


@cron(IntervalTrigger(hours=1))
@task
def remind_delegates() -> int:
    from .delegation import remind_before_expiry

    return remind_before_expiry()


@cron(IntervalTrigger(hours=6))
@task
def warn_password_rotation() -> int:
    from skillibrium.notifications.services import warn_rotations

    return warn_rotations()


@cron(IntervalTrigger(minutes=15))
@task
def delete_disconnected_accounts() -> int:
    from .disconnect import finish_pending_deletions

    return finish_pending_deletions()

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.tasks import task

from .outbox import deliver_due_emails


@task
def send_invitations(user_ids: list[int]) -> int:
    from skillibrium.accounts.invitations import invite_users

    return invite_users(user_ids)


@cron(IntervalTrigger(minutes=1))
@task
def deliver_queued_emails() -> int:
    return deliver_due_emails()

"""Product emails are queued in the outbox and sent by the task worker: tests read what it sent."""

from django.core import mail
from django.core.mail import EmailMessage

from skillibrium.notifications.outbox import deliver_due_emails


def sent_mail() -> list[EmailMessage]:
    """Everything sent so far, after the worker's sweep has sent what is due."""
    deliver_due_emails()
    return list(mail.outbox)


def clear_mail() -> None:
    """Send what is due, then forget it: the test looks only at what comes after."""
    deliver_due_emails()
    mail.outbox.clear()

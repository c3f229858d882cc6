"""Queue an email (one row per email, by a unique key) and deliver it from the task worker, with retries."""

import datetime as dt
import logging
import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone

from .models import EmailStatus, OutboxEmail

logger = logging.getLogger(__name__)

# Waits between attempts while the mail server is down or refuses; after GIVE_UP the email is dropped.
RETRY_MINUTES = (1, 5, 15, 30, 60)
GIVE_UP = dt.timedelta(days=3)


def queue_email(
    *, key: str, subject: str, body: str, to: Sequence[str], reply_to: Sequence[str] = ()
) -> bool:
    """Returns False when an email with this key was queued before: that one is the email."""
    if not to:
        return False
    try:
        with transaction.atomic():
            email = OutboxEmail.objects.create(
                key=key[:200], subject=subject[:255], body=body, to=list(to), reply_to=list(reply_to)
            )
    except IntegrityError:
        return False
    transaction.on_commit(lambda: deliver_email.enqueue(email.pk))
    return True


def was_queued(key: str) -> bool:
    """Lets a caller skip rendering an email that exists already."""
    return OutboxEmail.objects.filter(key=key[:200]).exists()


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=RETRY_MINUTES[min(max(attempts, 1), len(RETRY_MINUTES)) - 1])


@task
def deliver_email(email_id: int) -> bool:
    """The worker's delivery of one queued email, as soon as the queuing transaction commits."""
    return deliver(email_id)


def deliver(email_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send one queued email unless it was sent, is being sent by another worker, or is not due yet."""
    now = now or timezone.now()
    with transaction.atomic():
        email = OutboxEmail.objects.select_for_update(skip_locked=True).due(now).filter(pk=email_id).first()
        if email is None:
            return False
        email.attempts += 1
        try:
            EmailMessage(email.subject, email.body, to=email.to, reply_to=email.reply_to or None).send()
        except (smtplib.SMTPException, OSError) as error:
            _postpone(email, error, now)
            return False
        email.status, email.sent_at, email.last_error, email.body = EmailStatus.SENT, now, "", ""
        email.save(update_fields=["status", "sent_at", "attempts", "last_error", "body"])
    logger.info("sent email %s to %d recipients", email.key, len(email.to))
    return True


def _postpone(email: OutboxEmail, error: Exception, now: dt.datetime) -> None:
    email.last_error = f"{type(error).__name__}: {error}"[:500]
    email.next_attempt_at = now + retry_delay(email.attempts)
    if now - email.created_at >= GIVE_UP:
        email.status = EmailStatus.FAILED
        logger.error("gave up on email %s after %d attempts: %s", email.key, email.attempts, email.last_error)
    else:
        logger.warning(
            "could not send email %s (attempt %d): %s", email.key, email.attempts, email.last_error
        )
    email.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])


def deliver_due_emails(*, now: dt.datetime | None = None) -> int:
    """The worker's sweep: every email due, oldest first (those whose first attempt failed, or whose task
    was lost)."""
    now = now or timezone.now()
    due = OutboxEmail.objects.due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)
    return sum(deliver(pk, now=now) for pk in list(due[:1000]))

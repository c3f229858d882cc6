"""Emails through a real SMTP server: one per transition, reminders on schedule, recovery; every email is
queued in the outbox and sent by the worker (deliver_due_emails here), so a mail server down or hanging
delays it without losing it and never holds a sync."""

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from merge_sandbox.launch import free_port
from skillibrium.accounts.invitations import invite_users
from skillibrium.accounts.models import Role
from skillibrium.integrations.choices import Cause, Health
from skillibrium.integrations.health import record_failure, record_success
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import RelinkNeeded
from skillibrium.notifications.models import EmailStatus, OutboxEmail
from skillibrium.notifications.outbox import deliver_due_emails
from skillibrium.notifications.services import (
    notify_health_change,
    send_due_reminders,
    warn_rotations,
)

from .factories import make_integration, make_org, make_user

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    @property
    def subjects(self) -> list[str]:
        return [" ".join(str(m["Subject"]).split()) for m in self.messages]  # long subjects are folded


@pytest.fixture
def inbox(settings: Settings) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port},
        }
    }
    settings.DEFAULT_FROM_EMAIL = "Skillibrium <alerts@skillibrium.test>"
    yield handler
    controller.stop()


def broken_integration():  # type: ignore[no-untyped-def]
    org = make_org()
    admins = [make_user(org, role=Role.ADMIN) for _ in range(2)]
    make_user(org, role=Role.MEMBER)
    integration = make_integration(org)
    integration.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET, "Invalid login credentials")
    return integration, admins


def test_one_email_per_transition_to_every_admin(inbox: Inbox) -> None:
    integration, admins = broken_integration()

    notify_health_change(integration)
    notify_health_change(integration)  # the same transition again: nothing more
    deliver_due_emails()

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert sorted(message["To"].split(", ")) == sorted(a.email for a in admins)
    assert message["From"] == "Skillibrium <alerts@skillibrium.test>"
    assert message["Subject"] == "[Sandbox] Action required: relink your Workday integration"
    body = message.get_payload(decode=True).decode()
    assert "Password reset for the linked user account" in body
    assert f"/my-org/hris/{integration.pk}/edit/" in body


def test_reminders_after_one_three_and_seven_days_then_recovery(inbox: Inbox) -> None:
    integration, _ = broken_integration()
    notify_health_change(integration)
    start = integration.health_changed_at

    for hours in (23, 24, 25, 71, 72, 100, 168, 169, 400):
        send_due_reminders(now=start + dt.timedelta(hours=hours))
        deliver_due_emails()
    record_success(integration, watermark=timezone.now())
    deliver_due_emails()

    assert inbox.subjects == [
        "[Sandbox] Action required: relink your Workday integration",
        "[Sandbox] Reminder: your Workday integration still needs relinking",
        "[Sandbox] Reminder: your Workday integration still needs relinking",
        "[Sandbox] Reminder: your Workday integration still needs relinking",
        "[Sandbox] Your Workday integration is syncing again",
    ]


def test_production_subjects_carry_no_tag(inbox: Inbox, settings: Settings) -> None:
    settings.ENVIRONMENT = "production"
    integration, _ = broken_integration()
    notify_health_change(integration)
    deliver_due_emails()
    assert inbox.subjects == ["Action required: relink your Workday integration"]


def test_degraded_sends_nothing(inbox: Inbox) -> None:
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)
    integration.set_health(Health.DEGRADED, Cause.MERGE_OUTAGE)
    notify_health_change(integration)
    deliver_due_emails()
    assert inbox.messages == []


def refusing(settings: Settings) -> None:
    """Nothing listens on the mail server's port: each connection is refused at once."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


def test_a_mail_server_outage_loses_no_alert(inbox: Inbox, settings: Settings) -> None:
    """The server refuses: the transition still happens; the worker sends the email once it is back."""
    working = settings.MAILERS
    refusing(settings)
    integration, _ = broken_integration()
    notify_health_change(integration)
    send_due_reminders()
    assert deliver_due_emails() == 0  # refused: logged, nothing raised, tried again later
    assert inbox.messages == []

    settings.MAILERS = working
    assert deliver_due_emails() == 0  # not due yet
    later = timezone.now() + dt.timedelta(minutes=2)
    assert deliver_due_emails(now=later) == 1
    send_due_reminders()
    assert deliver_due_emails(now=later + dt.timedelta(hours=1)) == 0

    assert inbox.subjects == ["[Sandbox] Action required: relink your Workday integration"]


def test_invitations_recovery_and_rotation_warnings_wait_out_a_mail_server_outage(
    inbox: Inbox, settings: Settings
) -> None:
    """Issue item 11: invitations, "syncing again" and password-rotation warnings that fail because SMTP is
    down are sent once, each, when it is back (a retried invitation task adds none)."""
    working = settings.MAILERS
    refusing(settings)
    integration, _ = broken_integration()
    org = integration.organization
    newcomers = [make_user(org) for _ in range(3)]
    record_success(integration, watermark=timezone.now())  # Healthy again: "syncing again"
    Integration.objects.filter(pk=integration.pk).update(
        password_rotation_days=90, linked_at=timezone.now() - dt.timedelta(days=80)
    )
    invite_users([u.pk for u in newcomers])
    warn_rotations()
    assert deliver_due_emails() == 0

    settings.MAILERS = working
    invite_users([u.pk for u in newcomers])  # the task ran again
    warn_rotations()
    for minutes in (2, 10, 60):
        deliver_due_emails(now=timezone.now() + dt.timedelta(minutes=minutes))

    subjects = sorted(inbox.subjects)
    assert subjects == sorted(
        [f"[Sandbox] You're invited to Skillibrium by {org}"] * 3
        + [
            "[Sandbox] The Workday sync user's password is expected to expire on "
            f"{(timezone.now() + dt.timedelta(days=10)):%b %d}",
            "[Sandbox] Your Workday integration is syncing again",
        ]
    )
    invited = sorted(m["To"] for m in inbox.messages if "invited" in str(m["Subject"]))
    assert invited == sorted(u.email for u in newcomers)


def test_a_mail_server_that_never_answers_does_not_hold_a_sync(inbox: Inbox, settings: Settings) -> None:
    """Issue item 11: the server accepts connections and never answers. The sync's failure (and its email)
    is recorded without a connection to the mail server; the worker's attempt times out after the SMTP
    timeout setting, and the email goes out once the server answers again."""
    working = settings.MAILERS
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever says 220
        silent.setblocking(False)
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": silent.getsockname()[1], "timeout": 0.5},
            }
        }
        integration, _ = broken_integration()
        Integration.objects.filter(pk=integration.pk).update(health=Health.HEALTHY, cause=Cause.NONE)
        integration.refresh_from_db()

        record_failure(integration, RelinkNeeded("Invalid login credentials"))  # what a failing sync does

        with pytest.raises(BlockingIOError):
            silent.accept()  # no one connected: the sync did not talk to the mail server
        assert deliver_due_emails() == 0
        connection, _ = silent.accept()  # the worker did, and gave up after the timeout
        connection.close()
    email = OutboxEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert "timed out" in email.last_error

    settings.MAILERS = working
    deliver_due_emails(now=timezone.now() + dt.timedelta(minutes=2))
    assert inbox.subjects == ["[Sandbox] Action required: relink your Workday integration"]


def test_after_scheduler_downtime_only_the_latest_due_reminder_goes_out(inbox: Inbox) -> None:
    """Issue item 14: the scheduler was down for eight days; the 1-, 3- and 7-day reminders are not all
    sent at once when it is back: one reminder, the 7-day one, and none of the missed ones later."""
    integration, _ = broken_integration()
    notify_health_change(integration)
    start = integration.health_changed_at

    send_due_reminders(now=start + dt.timedelta(days=8))
    send_due_reminders(now=start + dt.timedelta(days=9))
    deliver_due_emails()

    assert inbox.subjects == [
        "[Sandbox] Action required: relink your Workday integration",
        "[Sandbox] Reminder: your Workday integration still needs relinking",
    ]
    body = inbox.messages[1].get_payload(decode=True).decode()
    assert "7 days" in body


def test_a_password_reset_asked_while_the_mail_server_hangs_is_queued_not_waited_for(
    inbox: Inbox, settings: Settings
) -> None:
    """Issue item 11: allauth's emails go through the same outbox: the request does not wait for a mail server
    that never answers, and the reset link arrives once the server answers again."""
    working = settings.MAILERS
    user = make_user(make_org())
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.setblocking(False)
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": silent.getsockname()[1], "timeout": 0.5},
            }
        }
        answer = Client().post(reverse("account_reset_password"), {"email": user.email})
        with pytest.raises(BlockingIOError):
            silent.accept()
    assert answer.status_code == 302

    settings.MAILERS = working
    deliver_due_emails()
    assert inbox.subjects == ["[Sandbox] Password Reset Email"]
    assert "/accounts/password/reset/key/" in inbox.messages[0].get_payload(decode=True).decode()

"""Emails to admins through a real SMTP server: one per transition, reminders on schedule, recovery."""

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from pytest_django.fixtures import Settings

from merge_sandbox.launch import free_port
from skillibrium.accounts.models import Role
from skillibrium.integrations.choices import Cause, Health
from skillibrium.integrations.health import record_success
from skillibrium.notifications.services import notify_health_change, send_due_reminders

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
        return [str(m["Subject"]) for m in self.messages]


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
    record_success(integration, watermark=timezone.now())

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
    assert inbox.subjects == ["Action required: relink your Workday integration"]


def test_degraded_sends_nothing(inbox: Inbox) -> None:
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)
    integration.set_health(Health.DEGRADED, Cause.MERGE_OUTAGE)
    notify_health_change(integration)
    assert inbox.messages == []


def test_a_mail_server_outage_loses_no_alert(inbox: Inbox, settings: Settings) -> None:
    """The server refuses: the transition still happens; the hourly job sends the email once it is back."""
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    integration, _ = broken_integration()
    notify_health_change(integration)  # refused: logged, nothing raised
    send_due_reminders()  # still refused
    assert inbox.messages == []

    settings.MAILERS = working
    send_due_reminders()
    send_due_reminders()

    assert inbox.subjects == ["[Sandbox] Action required: relink your Workday integration"]


def test_after_scheduler_downtime_only_the_latest_due_reminder_goes_out(inbox: Inbox) -> None:
    """Issue item 14: the scheduler was down for eight days; the 1-, 3- and 7-day reminders are not all
    sent at once when it is back: one reminder, the 7-day one, and none of the missed ones later."""
    integration, _ = broken_integration()
    notify_health_change(integration)
    start = integration.health_changed_at

    send_due_reminders(now=start + dt.timedelta(days=8))
    send_due_reminders(now=start + dt.timedelta(days=9))

    assert inbox.subjects == [
        "[Sandbox] Action required: relink your Workday integration",
        "[Sandbox] Reminder: your Workday integration still needs relinking",
    ]
    body = inbox.messages[1].get_payload(decode=True).decode()
    assert "7 days" in body

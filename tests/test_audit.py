"""The audit log: safe in a spreadsheet, each entry of a run names it; relinks and disconnects."""

import csv
import datetime as dt
import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.notifications.services import send_due_reminders
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_org, make_user, signed, signed_in
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def exported(user: User) -> list[list[str]]:
    response = signed_in(user).get(reverse("audit_csv"))
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def webhook(event: str, integration: Integration) -> int:
    account = {"id": integration.merge_account_id}
    raw, signature = signed({"hook": {"event": event}, "linked_account": account, "data": account})
    answer = Client().post(
        "/webhooks/merge/", raw, content_type="application/json", HTTP_X_MERGE_WEBHOOK_SIGNATURE=signature
    )
    return answer.status_code


def test_audit_csv_neutralises_formulas_and_its_details_are_json() -> None:
    """Issue item 12: names and emails come from the HRIS; a cell that a spreadsheet would run as a formula
    (= + - @, tab, carriage return) is exported as text, and the details column is JSON."""
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    targets = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ann@x.example"]
    for target in targets:
        AuditEntry.objects.create(
            organization=org,
            action="user.updated",
            target=target,
            detail={"after": {"name": "=cmd|' /C calc'!A0"}},
        )

    rows = exported(admin)

    assert rows[0] == ["time", "actor", "action", "target", "detail", "run"]
    assert sorted(r[3] for r in rows[1:]) == sorted(
        [
            '\'=HYPERLINK("http://evil.example")',
            "'+1+1",
            "'-2+3",
            "'@SUM(A1)",
            "'\tx",
            "'\rx",
            "ann@x.example",
        ]
    )
    assert all(json.loads(r[4]) == {"after": {"name": "=cmd|' /C calc'!A0"}} for r in rows[1:])


def test_every_audit_entry_a_run_makes_carries_the_run_id(sandbox: Sandbox) -> None:
    """Issue item 12: the users a sync creates (bulk-written audit rows) and deactivates name the run."""
    tenant = sandbox.tenant(size=12, seed=41)
    integration, admin = link(sandbox, make_org(), tenant)
    first = sync(integration, Trigger.SETUP)
    leaver = Person.objects.for_org(integration.organization).filter(user__is_active=True).first()
    assert leaver is not None
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leaver.identities.get().remote_id}/terminate")
    sandbox.merge_sync()
    second = sync(integration)

    created = AuditEntry.objects.filter(organization=integration.organization, action="user.created")
    deactivated = AuditEntry.objects.filter(organization=integration.organization, action="user.deactivated")
    assert created.count() == first.provisioned > 0
    assert set(created.values_list("run_id", flat=True)) == {first.pk}
    assert list(deactivated.values_list("run_id", flat=True)) == [second.pk]
    assert (
        AuditEntry.objects.get(action="integration.connected", organization=integration.organization).run_id
        is None
    )
    assert {r[5] for r in exported(admin)[1:] if r[2] == "user.created"} == {str(first.pk)}


def test_a_relink_detected_by_webhook_is_audited(sandbox: Sandbox) -> None:
    """Issue item 12: an account relinked outside Skillibrium (a magic link) and reported by Merge's linked
    webhook leaves an audit entry, as a relink in Skillibrium does."""
    tenant = sandbox.tenant(size=8, seed=42)
    integration, admin = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync(integration)
    assert integration.health == Health.RELINK_NEEDED
    from skillibrium.integrations import relink

    token = relink.start_link(organization=integration.organization, category="hris", email=admin.email)
    sandbox.complete_link(token, tenant, password)  # at Merge only: Skillibrium hears of it by webhook

    assert webhook("LinkedAccount.linked", integration) == 200

    integration.refresh_from_db()
    entry = AuditEntry.objects.get(
        organization=integration.organization, action="integration.relinked_elsewhere"
    )
    assert integration.health == Health.CATCHING_UP
    assert entry.detail == {"detected_by": "webhook", "account": integration.merge_account_id}


def test_an_intentional_disconnect_sends_no_action_required_email_and_no_reminders(sandbox: Sandbox) -> None:
    """Issue item 12: an admin's Disconnect is not a broken connection: no email asks anyone to relink, not
    at once, not as a reminder days later, and not when Merge's deleted webhook follows."""
    integration, admin = link(sandbox, make_org(), sandbox.tenant(size=5, seed=43))
    sync(integration, Trigger.SETUP)
    make_user(integration.organization, role=Role.ADMIN)
    clear_mail()

    answer = signed_in(admin).post(
        reverse("integrations:disconnect", args=[integration.pk]), {"confirm": integration.provider_name}
    )
    assert webhook("LinkedAccount.deleted", integration) == 200
    for days in (0, 1, 3, 7, 8):
        send_due_reminders(now=timezone.now() + dt.timedelta(days=days, minutes=1))

    integration.refresh_from_db()
    assert answer.status_code == 302 and integration.health == Health.DISCONNECTED
    assert [m.subject for m in sent_mail()] == []
    assert integration.cause == Cause.DISCONNECTED_BY_ADMIN
    assert AuditEntry.objects.filter(action="integration.disconnected", organization=integration.organization)
    assert not SyncRun.objects.filter(integration=integration, status=RunStatus.RUNNING).exists()

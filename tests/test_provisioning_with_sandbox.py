"""Provisioning against a real sandbox: the safeguard and its review queue, dry run, filters, audit export."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Organization, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Trigger
from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.provisioning.scope import org_today
from skillibrium.sync.engine import preview_sync, sync_integration
from skillibrium.sync.models import SyncRun

from .factories import make_org, make_user
from .sandboxed import Sandbox, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def terminate(sandbox: Sandbox, tenant: dict[str, str], people: list[Person]) -> None:
    for person in people:
        sandbox.control(
            "POST", f"tenants/{tenant['id']}/people/{person.identities.get().remote_id}/terminate"
        )
    sandbox.merge_sync()


def test_mass_deactivation_is_held_for_review_and_decided_one_by_one(sandbox: Sandbox) -> None:
    integration, admin, tenant, client = setup(sandbox)
    leavers = provisioned(integration)[:10]
    terminate(sandbox, tenant, leavers)

    run = sync(integration)

    assert (run.deactivated, run.held) == (0, 10)
    assert all(User.objects.get(pk=p.user_id).is_active for p in leavers)
    held = HeldChange.objects.filter(organization=integration.organization, status=HoldStatus.PENDING)
    assert {h.kind for h in held} == {ChangeKind.DEACTIVATE} and {h.reason for h in held} == {
        HoldReason.MASS_DEACTIVATION
    }
    page = client.get(reverse("provisioning:review")).content.decode()
    assert leavers[0].work_email in page

    first, second, *rest = held.order_by("pk")
    client.post(reverse("provisioning:decide"), {"decision": "approve", "held": [first.pk]})
    client.post(reverse("provisioning:decide"), {"decision": "reject", "held": [second.pk]})
    client.post(reverse("provisioning:decide"), {"decision": "approve", "scope": "all"})

    statuses = dict(HeldChange.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "status"))
    assert statuses == {first.pk: HoldStatus.APPROVED, second.pk: HoldStatus.REJECTED}
    assert not User.objects.get(pk=first.person.user_id).is_active
    assert User.objects.get(pk=second.person.user_id).is_active
    assert all(not User.objects.get(pk=h.person.user_id).is_active for h in rest)
    actions = set(
        AuditEntry.objects.filter(organization=integration.organization, actor=admin).values_list(
            "action", flat=True
        )
    )
    assert {"review.approved", "review.rejected"} <= actions


def test_a_held_person_who_comes_back_is_released(sandbox: Sandbox) -> None:
    integration, _, tenant, _ = setup(sandbox)
    leavers = provisioned(integration)[:10]
    terminate(sandbox, tenant, leavers)
    sync(integration)
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leavers[0].identities.get().remote_id}/rehire")
    sandbox.merge_sync()

    run = sync(integration)

    released = HeldChange.objects.get(person=leavers[0])
    assert released.status == HoldStatus.RELEASED
    assert User.objects.get(pk=leavers[0].user_id).is_active
    assert run.deactivated == 0


def test_dry_run_previews_and_changes_nothing(sandbox: Sandbox) -> None:
    integration, _, tenant, client = setup(sandbox)
    leaver = provisioned(integration)[0]
    terminate(sandbox, tenant, [leaver])
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Ada", last_name="Lovelace")
    sandbox.merge_sync()
    runs_before = SyncRun.objects.count()

    preview = preview_sync(integration_id=integration.pk)

    assert (preview.run.created, preview.run.updated) == (1, 1)
    assert (preview.changes.created, preview.changes.deactivated) == (1, 1)
    assert leaver.work_email in preview.changes.preview["deactivate"]
    assert SyncRun.objects.count() == runs_before
    assert User.objects.get(pk=leaver.user_id).is_active
    assert not Person.objects.filter(last_name="Lovelace").exists()
    page = client.post(reverse("provisioning:preview", args=[integration.pk])).content.decode()
    assert "users deactivated" in page and "Dry run: nothing was changed" in page
    assert sync(integration).deactivated == 1


def test_filters_admit_but_never_deactivate(sandbox: Sandbox) -> None:
    integration, _admin, _, client = setup(sandbox)
    active_before = len(provisioned(integration))
    response = client.post(
        reverse("provisioning:policy"),
        {
            "employment_types": ["INTERN"],
            "mass_deactivation_percent": "20",
            "mass_deactivation_minimum_users": "10",
            "invite_days_before_start": "7",
            "send_invitations": "on",
        },
    )
    assert response.status_code == 302
    policy = ProvisioningPolicy.objects.get(organization=integration.organization)
    assert policy.employment_types == ["INTERN"]
    sync(integration)
    assert len(provisioned(integration)) == active_before


def test_department_and_location_filters_apply_as_pages_arrive(sandbox: Sandbox) -> None:
    """New people are provisioned while the run still fetches, already knowing their department and location
    names (resolved from Merge ids), so an organization's filters hold for them."""
    integration, _admin, tenant, _ = setup(sandbox)
    people = {p.department: p for p in Person.objects.for_org(integration.organization) if p.department}
    inside, outside = list(people.values())[:2]
    source = {
        p.pk: sandbox.control("GET", f"tenants/{tenant['id']}/people/{p.identities.get().remote_id}")
        for p in (inside, outside)
    }
    ProvisioningPolicy.objects.filter(organization=integration.organization).update(
        departments=[inside.department], locations=[inside.location]
    )
    hires = [
        sandbox.control(
            "POST",
            f"tenants/{tenant['id']}/people",
            first_name=name,
            last_name="Hopper",
            department=source[p.pk]["department"],
            location=source[inside.pk]["location"],
        )
        for name, p in (("Grace", inside), ("Anita", outside))
    ]
    sandbox.merge_sync()
    emails = [h["work_email"] for h in hires]
    during: list[set[str]] = []

    def progress(_run: SyncRun) -> None:
        during.append(set(User.objects.filter(email__in=emails).values_list("email", flat=True)))

    run = sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE, progress=progress)

    assert run is not None and run.provisioned == 1
    assert during and during[0] == {emails[0]}
    grace, anita = (Person.objects.get(organization=integration.organization, work_email=e) for e in emails)
    assert (grace.department, grace.location) == (inside.department, inside.location)
    assert anita.department == outside.department != inside.department
    assert grace.user is not None and grace.user.is_active and anita.user is None


def test_audit_log_exports_csv_for_admins_only(sandbox: Sandbox) -> None:
    integration, _admin, _, client = setup(sandbox, size=12)
    response = client.get(reverse("audit_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "actor", "action", "target", "detail", "run"]
    assert {r[2] for r in rows[1:]} >= {"user.created", "integration.connected"}
    member = Person.objects.for_org(integration.organization).filter(user__is_active=True).first()
    assert member is not None and member.user is not None
    other = Client()
    other.force_login(member.user)
    assert other.get(reverse("audit_csv")).status_code == 403


def test_cli_syncs_with_a_summary_dry_runs_and_lists_runs(sandbox: Sandbox) -> None:
    from django.core.management import call_command

    integration, _, tenant, _ = setup(sandbox, size=12)
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Alan", last_name="Turing")
    sandbox.merge_sync()
    out = io.StringIO()

    call_command("sync_account", str(integration.pk), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and "would change" in out.getvalue()
    assert not Person.objects.filter(last_name="Turing").exists()
    call_command("sync_account", str(integration.pk), stdout=out)
    assert Person.objects.filter(last_name="Turing").count() == 1
    call_command("sync_runs", str(integration.pk), stdout=out)
    assert "cli" in out.getvalue() and "succeeded" in out.getvalue()


def test_review_after_reconnection_holds_the_outage_changes_for_an_admin(sandbox: Sandbox) -> None:
    integration, admin, tenant, client = setup(sandbox)
    ProvisioningPolicy.objects.update_or_create(
        organization=integration.organization, defaults={"review_after_reconnection": True}
    )
    leaver = provisioned(integration)[1]
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync(integration)
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Ida", last_name="Rhodes")
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leaver.identities.get().remote_id}/terminate")
    token = relink.start_link(organization=integration.organization, category="hris", email=admin.email)
    public = sandbox.complete_link(token, tenant, password)
    relink.complete_relink(integration=integration, public_token=public, membership=admin.membership)
    sandbox.merge_sync()

    caught_up = sync(integration, Trigger.RELINK)

    held = HeldChange.objects.filter(organization=integration.organization, status=HoldStatus.PENDING)
    assert caught_up.held == 2 and {(h.kind, h.reason) for h in held} == {
        (ChangeKind.CREATE, HoldReason.RECONNECTION_REVIEW),
        (ChangeKind.DEACTIVATE, HoldReason.RECONNECTION_REVIEW),
    }
    assert User.objects.get(pk=leaver.user_id).is_active
    assert not User.objects.filter(email__istartswith="ida.rhodes").exists()

    client.post(reverse("provisioning:decide"), {"decision": "approve", "scope": "all"})

    assert not User.objects.get(pk=leaver.user_id).is_active
    assert User.objects.filter(last_name="Rhodes", is_active=True).count() == 1


def test_today_is_the_organization_s_own_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """A termination dated today applies once today has begun where the organization is."""
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 30, 11, 0, tzinfo=dt.UTC))
    ahead, behind, here = make_org(), make_org(), make_org()
    Organization.objects.filter(pk=ahead.pk).update(time_zone="Pacific/Kiritimati")  # UTC+14
    Organization.objects.filter(pk=behind.pk).update(time_zone="Pacific/Pago_Pago")  # UTC-11
    for org in (ahead, behind):
        org.refresh_from_db()
    assert [org_today(o) for o in (ahead, behind, here)] == [
        dt.date(2026, 12, 1),
        dt.date(2026, 11, 30),
        dt.date(2026, 11, 30),
    ]


def test_new_records_get_one_user_per_email_and_existing_users_are_matched_not_doubled(
    sandbox: Sandbox,
) -> None:
    """Four hires in one page: two sharing a new email (a data error at the source), one with a member's
    email, one with the email of another organization's user."""
    integration, admin, tenant, _ = setup(sandbox, size=12)
    stranger = make_user(make_org(name="Elsewhere"))
    emails = ["pat.shared@example.com", "pat.shared@example.com", admin.email, stranger.email]
    for first, email in zip(("Pat", "Patricia", "Ada", "Sam"), emails, strict=True):
        sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name=first, work_email=email)
    sandbox.merge_sync()
    users_before = User.objects.count()

    run = sync(integration)

    assert run.status == "succeeded" and run.provisioned == 1
    assert User.objects.count() == users_before + 1
    shared = User.objects.get(email="pat.shared@example.com")
    people = Person.objects.for_org(integration.organization)
    assert people.filter(work_email="pat.shared@example.com").count() == 2
    assert people.filter(user=shared).count() == 1
    assert people.get(work_email=stranger.email).user is None
    # The address is another's: the new person waits for an admin, told whose it is (another organization's
    # user is never named); the second record of one address does not take over the first one's user.
    held = HeldChange.objects.filter(organization=integration.organization, status=HoldStatus.PENDING)
    assert {(h.person.work_email, h.kind, h.reason) for h in held} == {
        (email, ChangeKind.CREATE, HoldReason.EMAIL_TAKEN) for email in (stranger.email, shared.email)
    }
    assert held.get(person__work_email=stranger.email).evidence == (
        f"{stranger.email}: a Skillibrium user outside your organization has this address"
    )
    shared.refresh_from_db()
    assert shared.first_name == "Pat"
    admin.refresh_from_db()
    assert admin.is_active and (admin.first_name, admin.membership.organization_id) == (
        "Ada",
        integration.organization_id,
    )


def test_item_3_a_rejected_deactivation_stays_rejected_until_new_evidence(sandbox: Sandbox) -> None:
    """Issue item 3: once the held batch is decided, the rejected leaver is alone under the safeguard's
    threshold: the next runs neither deactivate them nor ask again; a deletion at the source asks again,
    saying why."""
    integration, admin, tenant, client = setup(sandbox)
    leavers = provisioned(integration)[:10]
    terminate(sandbox, tenant, leavers)
    sync(integration)
    kept = HeldChange.objects.get(person=leavers[0], status=HoldStatus.PENDING)
    client.post(reverse("provisioning:decide"), {"decision": "reject", "held": [kept.pk]})
    client.post(reverse("provisioning:decide"), {"decision": "approve", "scope": "all"})

    for _ in range(2):
        run = sync(integration)
        assert (run.deactivated, run.held) == (0, 0)
        assert User.objects.get(pk=leavers[0].user_id).is_active
        assert not HeldChange.objects.filter(person=leavers[0], status=HoldStatus.PENDING).exists()

    sandbox.control("DELETE", f"tenants/{tenant['id']}/people/{leavers[0].identities.get().remote_id}")
    sandbox.merge_sync()
    run = sync(integration)

    assert (run.deactivated, run.held) == (0, 1)
    again = HeldChange.objects.get(person=leavers[0], status=HoldStatus.PENDING)
    assert (again.reason, again.previous_id, again.evidence) == (
        HoldReason.NEW_EVIDENCE,
        kept.pk,
        "deleted in the source system",
    )
    assert User.objects.get(pk=leavers[0].user_id).is_active
    page = client.get(reverse("provisioning:review")).content.decode()
    assert f"New since {admin.email} rejected it" in page and kept.evidence in page

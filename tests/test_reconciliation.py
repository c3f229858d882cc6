"""Issue item 7: what an incremental read misses is found again by a full read, and people a complete read
leaves out wait for an admin as "not seen at the source", never deactivated for their absence."""

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.provisioning import review
from skillibrium.provisioning.models import HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.sync import reconcile
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_integration, make_org, make_user, signed_in
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unpaced(settings: Settings) -> None:
    """Pages of three make many requests: the product's own pacing is not what these tests are about."""
    settings.MERGE_RATE_LIMIT_PER_MINUTE = 0


def linked(sandbox: Sandbox, size: int) -> tuple[Integration, User, dict[str, Any]]:
    tenant = sandbox.tenant(size=size, seed=size)
    integration, admin = link(sandbox, make_org(), tenant)
    ProvisioningPolicy.objects.create(organization=integration.organization, send_invitations=False)
    first = sync(integration)
    assert first.status == RunStatus.SUCCEEDED and first.modified_after is None
    assert integration.last_full_read_at == first.started_at
    return integration, admin, tenant


def people_of(sandbox: Sandbox, tenant: dict[str, Any]) -> list[dict[str, Any]]:
    return list(sandbox.control("GET", f"tenants/{tenant['id']}/people?limit=1000")["results"])


def person(integration: Integration, remote_id: str) -> Person:
    return Person.objects.select_related("user").get(
        identities__integration=integration, identities__remote_id=remote_id
    )


def full_read_due(integration: Integration) -> None:
    """A week passes (the clock is moved, not waited for)."""
    assert integration.last_full_read_at is not None
    integration.last_full_read_at -= dt.timedelta(days=integration.full_read_every_days, seconds=1)
    integration.save(update_fields=["last_full_read_at"])


def test_item_7_a_record_a_page_left_out_and_the_watermark_passed_is_found_by_the_weekly_full_read(
    sandbox: Sandbox,
) -> None:
    integration, _, tenant = linked(sandbox, size=6)
    leavers = [p["remote_id"] for p in people_of(sandbox, tenant)[1:3]]
    for remote_id in leavers:
        sandbox.control("POST", f"tenants/{tenant['id']}/people/{remote_id}/terminate", date="2020-01-01")
    sandbox.merge_sync()
    sandbox.control("PUT", "faults", list_fault="omit", list_fault_remaining=1)
    missed = sync(integration)
    assert missed.modified_after is not None and missed.deactivated == 1
    [left_out] = [r for r in leavers if person(integration, r).user.is_active]
    assert sync(integration).deactivated == 0  # the watermark is past it: incremental reads never see it
    assert person(integration, left_out).employment_status == "ACTIVE"

    full_read_due(integration)
    found = sync(integration)
    assert found.modified_after is None and found.deactivated == 1
    assert person(integration, left_out).employment_status == "INACTIVE"
    assert not person(integration, left_out).user.is_active
    assert integration.last_full_read_at == found.started_at
    assert not HeldChange.objects.filter(organization=integration.organization).exists()


def test_item_7_with_deletion_detection_off_a_deleted_person_waits_for_review_never_deactivated(
    sandbox: Sandbox,
) -> None:
    """Merge's add-on not bought: the deleted record just leaves the lists. The full read finds the person
    gone, marks them not seen with when they were last seen, and holds them for an admin; a rejection is
    not asked again, an approval deactivates and stays."""
    integration, admin, tenant = linked(sandbox, size=6)
    sandbox.control(
        "PUT", f"linked-accounts/{integration.merge_account_id}/deletion-detection", enabled=False
    )
    first_seen = integration.last_full_read_at
    assert first_seen is not None
    [gone, kept] = [p["remote_id"] for p in people_of(sandbox, tenant)[1:3]]
    for remote_id in (gone, kept):
        sandbox.control("DELETE", f"tenants/{tenant['id']}/people/{remote_id}")
    sandbox.merge_sync()
    assert sync(integration).deactivated == 0
    assert person(integration, gone).not_seen_since is None  # an incremental read cannot tell

    full_read_due(integration)
    swept = sync(integration)
    assert swept.modified_after is None and swept.deactivated == 0
    assert "2 people were not seen at the source; 2 with access wait for review" in swept.warnings[0]
    for remote_id in (gone, kept):
        missing = person(integration, remote_id)
        assert missing.not_seen_since == first_seen and missing.user.is_active
        assert not missing.remote_was_deleted and missing.employment_status == "ACTIVE"
    held = HeldChange.objects.filter(reason=HoldReason.NOT_SEEN, status=HoldStatus.PENDING)
    assert held.count() == 2
    assert held.first().evidence == f"not seen at the source; last seen on {first_seen.date().isoformat()}"
    my_org = signed_in(admin).get(reverse("directory:my_org"))
    assert my_org.content.count(b"Not seen at the source since") == 2
    queue = signed_in(admin).get(reverse("provisioning:review"))
    assert queue.content.count(b"Not seen at the source") == 2
    assert queue.content.count(f"last seen on {first_seen.date().isoformat()}".encode()) == 2

    decide = review.decide
    decide(
        membership=admin.membership, held_ids=[held.get(person__identities__remote_id=gone).pk], approve=True
    )
    decide(
        membership=admin.membership, held_ids=[held.get(person__identities__remote_id=kept).pk], approve=False
    )
    assert not person(integration, gone).user.is_active
    full_read_due(integration)
    again = sync(integration)
    assert (again.deactivated, again.provisioned) == (0, 0)
    assert not person(integration, gone).user.is_active  # approved: not reactivated by absence of evidence
    assert person(integration, kept).user.is_active  # rejected: left alone, not asked again
    assert not HeldChange.objects.filter(status=HoldStatus.PENDING).exists()


def test_item_7_a_list_that_ended_early_holds_who_it_left_out_until_a_complete_read_sees_them(
    sandbox: Sandbox,
) -> None:
    integration, _, _ = linked(sandbox, size=10)
    sandbox.control(
        "PUT", "faults", page_size_cap=3, list_fault="end_early", list_fault_after=3, list_fault_remaining=1
    )
    full_read_due(integration)
    short = sync(integration)  # pages of 3, 3, 3, then half of the last page and "next": null
    assert short.status == RunStatus.SUCCEEDED and short.deactivated == 0
    not_seen = Person.objects.filter(not_seen_since__isnull=False)
    assert not_seen.count() == 1 and not_seen.get().user.is_active
    assert HeldChange.objects.get(status=HoldStatus.PENDING).person == not_seen.get()

    full_read_due(integration)
    complete = sync(integration)
    assert (complete.deactivated, complete.provisioned) == (0, 0)
    assert not Person.objects.filter(not_seen_since__isnull=False).exists()
    assert HeldChange.objects.get().status == HoldStatus.RELEASED
    assert User.objects.filter(is_active=False).count() == 0


def test_item_7_a_read_that_lost_most_people_is_doubted_and_done_again(sandbox: Sandbox) -> None:
    integration, _, _ = linked(sandbox, size=12)
    sandbox.control("PUT", "faults", page_size_cap=4, list_fault="end_early", list_fault_remaining=1)
    full_read_due(integration)
    doubted = sync(integration)
    assert "too many to be leavers" in doubted.warnings[0]
    assert not Person.objects.filter(not_seen_since__isnull=False).exists()
    assert not HeldChange.objects.exists() and User.objects.filter(is_active=False).count() == 0
    assert integration.full_read_due
    assert sync(integration).modified_after is None and not integration.full_read_due


@pytest.mark.parametrize(
    ("trigger", "pending", "days_since_full_read", "reported", "expected"),
    [
        (Trigger.SCHEDULE, False, 1, None, False),
        (Trigger.WEBHOOK, False, 7, None, True),  # weekly by default
        (Trigger.RELINK, False, 1, None, True),  # the catch-up after a relink
        (Trigger.SCHEDULE, True, 1, None, True),  # the first run after a recovery
        (Trigger.RELINK, True, 9, "provider offline", False),  # the source says its data is not current
    ],
)
def test_item_7_when_a_run_reads_everything(
    trigger: Trigger, pending: bool, days_since_full_read: int, reported: str | None, expected: bool
) -> None:
    integration = make_integration(make_org())
    integration.sync_watermark = timezone.now()
    integration.provisioning_pending = pending
    integration.last_full_read_at = timezone.now() - dt.timedelta(days=days_since_full_read, seconds=1)
    assert reconcile.reads_everything(integration, trigger, reported) is expected
    integration.full_read_every_days = 0  # only after a relink or a recovery
    only_after_a_break = expected and trigger != Trigger.WEBHOOK
    assert reconcile.reads_everything(integration, trigger, reported) is only_after_a_break


def test_item_7_the_sweep_is_set_based_whatever_the_number_left_out() -> None:
    """A full compare of 100,000 people: the sweep's statements do not grow with the people it marks."""

    def swept(missing: int) -> tuple[int, reconcile.Sweep]:
        organization = make_org()
        integration = make_integration(organization)
        make_user(organization, role=Role.ADMIN)
        ProvisioningPolicy.objects.create(organization=organization, mass_deactivation_percent=100)
        earlier = SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE)
        run = SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE)
        for n in range(missing + 3):
            user = make_user(organization)
            someone = Person.objects.create(organization=organization, work_email=user.email, user=user)
            SourceIdentity.objects.create(
                integration=integration,
                person=someone,
                merge_id=f"m{n}",
                digest="d",
                seen_in_run=earlier.pk if n < missing else run.pk,
            )
        with CaptureQueriesContext(connection) as queries:
            result = reconcile.sweep(integration, run)
        assert Person.objects.filter(not_seen_since=earlier.started_at).count() == missing
        return len(queries), result

    swept(1)  # the first sweep of a process also looks up a table's id sequence, once (bulk.insert_rows)
    few, many = swept(2), swept(40)
    assert few[0] == many[0]
    assert (many[1].not_seen, many[1].held, many[1].trusted) == (40, 40, True)


def test_item_7_admins_set_how_often_the_full_read_runs() -> None:
    """Issue item 7: the schedule is a setting of the integration, admins only, scoped to the organization."""
    organization = make_org()
    admin = make_user(organization, role=Role.ADMIN)
    integration = make_integration(organization)
    url = reverse("integrations:full_read_policy", args=[integration.pk])
    other_admin = make_user(make_org(), role=Role.ADMIN)

    refused = signed_in(make_user(organization)).post(url, {"full_read_every_days": 1})
    elsewhere = signed_in(other_admin).post(url, {"full_read_every_days": 1})
    bad = signed_in(admin).post(url, {"full_read_every_days": 91})
    integration.refresh_from_db()
    assert (refused.status_code, elsewhere.status_code, bad.status_code) == (403, 404, 302)
    assert integration.full_read_every_days == 7

    signed_in(admin).post(url, {"full_read_every_days": 1})
    integration.refresh_from_db()
    assert integration.full_read_every_days == 1
    assert AuditEntry.objects.filter(
        action="integration.full_read_policy", organization=organization
    ).exists()
    page = signed_in(admin).get(reverse("integrations:edit", args=[integration.pk]))
    assert b"Full compare" in page.content and b"No full compare yet" in page.content


def test_item_7_a_full_read_that_fails_marks_nobody_and_is_done_again(sandbox: Sandbox) -> None:
    """Issue item 7: only a complete read (every page came back) sweeps; a failed one leaves everyone as
    they were, and the next run reads everything again."""
    integration, _, _ = linked(sandbox, size=6)
    full_read_due(integration)
    sandbox.control("PUT", "faults", page_fault="truncate", page_fault_remaining=1000)
    failed = sync(integration)
    assert failed.status == RunStatus.FAILED and failed.modified_after is None
    assert not Person.objects.filter(not_seen_since__isnull=False).exists()
    assert not HeldChange.objects.exists() and integration.full_read_due
    sandbox.control("DELETE", "faults")
    again = sync(integration)
    assert again.status == RunStatus.SUCCEEDED and again.modified_after is None
    assert not Person.objects.filter(not_seen_since__isnull=False).exists()
    assert not integration.full_read_due and User.objects.filter(is_active=False).count() == 0


def test_item_7_a_crm_user_a_page_left_out_is_found_by_the_full_read(sandbox: Sandbox) -> None:
    """Issue item 7 for a CRM: the users list, left out of one page, then read in full."""
    tenant = sandbox.tenant(provider="salesforce", size=6, seed=6)
    integration, _ = link(sandbox, make_org(), tenant, Category.CRM)
    ProvisioningPolicy.objects.create(organization=integration.organization, send_invitations=False)
    sync(integration)
    sandbox.control("PUT", "faults", page_size_cap=3, list_fault="omit", list_fault_model="User")
    sandbox.control("PUT", "faults", list_fault_remaining=1)  # one page of three: two left out
    full_read_due(integration)
    short = sync(integration)
    assert short.modified_after is None
    not_seen = Person.objects.filter(organization=integration.organization, not_seen_since__isnull=False)
    assert not_seen.count() == 2 and short.deactivated == 0
    assert HeldChange.objects.filter(reason=HoldReason.NOT_SEEN, status=HoldStatus.PENDING).count() == 2
    sandbox.control("PUT", "faults", list_fault=None, list_fault_remaining=0)
    full_read_due(integration)
    sync(integration)
    assert not not_seen.exists()
    assert not HeldChange.objects.filter(status=HoldStatus.PENDING).exists()

"""A new connection's first sync reads everyone and provisions nobody until an admin confirms its review."""

import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations import disconnect, review
from skillibrium.integrations.choices import ReviewState, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.notifications.tasks import send_invitations
from skillibrium.provisioning import first_sync
from skillibrium.provisioning.models import ProvisioningPolicy
from skillibrium.provisioning.tasks import provision_everyone
from skillibrium.sync.engine import sync_integration

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, people_path, provisioned, sync

pytestmark = pytest.mark.django_db


def provisioning_passes() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.ready().filter(task_path__endswith=".provision_everyone"))


@pytest.fixture
def work_off_provisioning(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[], int]:
    """Run the queued provisioning passes and the invitations they queue, as the worker does; returns how
    many passes ran."""

    def work_off() -> int:
        passes = provisioning_passes()
        for task in passes:
            with django_capture_on_commit_callbacks(execute=True):
                provision_everyone.call(*task.args_kwargs["args"], **task.args_kwargs["kwargs"])
            task.delete()
        for task in DBTaskResult.objects.ready().filter(task_path__endswith=".send_invitations"):
            send_invitations.call(*task.args_kwargs["args"])
            task.delete()
        return len(passes)

    return work_off


def waiting_for_review(sandbox: Sandbox, size: int = 12) -> tuple[Integration, User, dict[str, Any]]:
    tenant = sandbox.tenant(size=size)
    integration, admin = link(sandbox, make_org(), tenant, review_first_sync=True)
    clear_mail()
    run = sync(integration, Trigger.SETUP)
    assert run.provisioned == 0
    return integration, admin, tenant


def users_of(integration: Integration) -> int:
    return User.objects.filter(membership__organization=integration.organization).count()


def test_the_first_sync_reads_everyone_and_provisions_nobody(sandbox: Sandbox) -> None:
    integration, _admin, _ = waiting_for_review(sandbox)
    people = Person.objects.for_org(integration.organization)
    assert people.count() == 12
    assert users_of(integration) == 1  # the admin who connected
    assert not people.filter(user__isnull=False).exists()
    assert not sent_mail()
    assert review.needs_review(integration)
    found = first_sync.summary(integration)
    assert found["people"] == 12
    active = people.filter(employment_status="ACTIVE").exclude(work_email="").count()
    assert found["create"] == active
    assert len(found["create_examples"]) == active
    assert found["filters"]["employment_statuses"] == ["ACTIVE"]
    # Later runs still provision nobody, while the review waits.
    sync(integration)
    assert users_of(integration) == 1 and not sent_mail()


def test_confirm_provisions_everyone_once_and_invites(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    expected = first_sync.summary(integration)["create"]
    assert review.confirm(integration=integration, membership=admin.membership, send_invitations=True)
    assert not review.confirm(integration=integration, membership=admin.membership, send_invitations=True)
    assert work_off_provisioning() == 1
    assert len(provisioned(integration)) == expected
    assert len(sent_mail()) == expected
    integration.refresh_from_db()
    assert integration.review_state == ReviewState.CONFIRMED and integration.reviewed_by == admin
    assert AuditEntry.objects.filter(action="integration.first_sync_confirmed").count() == 1
    assert sync(integration).provisioned == 0  # nothing left to do


def test_confirm_without_invitations_creates_users_and_sends_no_mail(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    review.confirm(integration=integration, membership=admin.membership, send_invitations=False)
    work_off_provisioning()
    assert len(provisioned(integration)) == first_sync.summary(integration)["create"] > 0
    assert not sent_mail()
    assert ProvisioningPolicy.objects.get(organization=integration.organization).send_invitations


def test_decline_provisions_nothing_and_keeps_waiting(sandbox: Sandbox) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    assert review.decline(integration=integration, membership=admin.membership)
    sync(integration)
    assert not provisioning_passes()
    assert users_of(integration) == 1 and not sent_mail()
    assert review.needs_review(integration)
    assert AuditEntry.objects.filter(action="integration.first_sync_declined").exists()
    # Declined is not final: the admin can still confirm.
    assert review.confirm(integration=integration, membership=admin.membership, send_invitations=False)


def test_the_summary_shows_matches_conflicts_and_duplicates(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    tenant = sandbox.tenant(size=10)
    organization = make_org()
    integration, admin = link(sandbox, organization, tenant, review_first_sync=True)
    source = sandbox.control("GET", people_path(tenant))["results"]
    active = [p for p in source if p["status"] == "ACTIVE" and not p["deleted"] and p["work_email"]]
    existing = make_user(organization, email=active[0]["work_email"])
    elsewhere = make_user(make_org(), email=active[1]["work_email"])
    sandbox.control("POST", people_path(tenant), work_email=active[2]["work_email"])
    sandbox.control("POST", people_path(tenant), work_email="")
    sandbox.merge_sync()
    sync(integration, Trigger.SETUP)
    found = first_sync.summary(integration)
    assert found["matched"] == 1 and found["linked_by_email_examples"] == [existing.email]
    assert found["matched_by"] == {"already linked": 0, "work email": 1}
    assert found["elsewhere"] == 1 and found["elsewhere_examples"] == [elsewhere.email]
    assert found["duplicates"] == 1 and found["duplicates_examples"] == [[active[2]["work_email"], 2]]
    assert found["without_email"] == 1
    assert found["create"] == len(active) - 2  # neither the member nor another organization's user
    assert Person.objects.get(work_email=existing.email).user_id is None  # not linked before confirming
    page = signed_in(admin).get(reverse("integrations:first_sync_review", args=[integration.pk]))
    shown = page.content.decode()
    assert f"{active[2]['work_email']} (2 records)" in shown and elsewhere.email in shown
    review.confirm(integration=integration, membership=admin.membership, send_invitations=False)
    work_off_provisioning()
    assert Person.objects.get(work_email=existing.email).user_id == existing.pk
    assert User.objects.get(pk=elsewhere.pk).membership.organization != organization
    assert len(provisioned(integration)) == found["create"] + found["matched"]


def test_changing_the_filters_recomputes_the_summary(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    before = first_sync.summary(integration)
    response = signed_in(admin).post(
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
    work_off_provisioning()
    integration.refresh_from_db()
    after = first_sync.summary(integration)
    assert after["filters"]["employment_types"] == ["INTERN"]
    interns = Person.objects.for_org(integration.organization).filter(
        employment_type="INTERN", employment_status="ACTIVE"
    )
    assert after["create"] == interns.exclude(work_email="").count() < before["create"]
    assert users_of(integration) == 1  # the filters' pass provisions nobody of a waiting source


def test_a_connection_made_without_review_provisions_as_before(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=8)
    integration, _ = link(sandbox, make_org(), tenant)
    assert not review.needs_review(integration)
    assert sync(integration, Trigger.SETUP).provisioned > 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirms_provision_once(sandbox: Sandbox) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    other = make_user(integration.organization, role=Role.ADMIN)
    barrier, results = threading.Barrier(2), []

    def confirm(membership: Any) -> None:
        try:
            barrier.wait()
            results.append(
                review.confirm(integration=integration, membership=membership, send_invitations=False)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(m,)) for m in (admin.membership, other.membership)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(provisioning_passes()) == 1


def test_the_review_page_shows_the_summary_and_confirms(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    client = signed_in(admin)
    card = client.get(reverse("integrations:hris_settings")).content.decode()
    assert "The first sync is waiting for your review" in card and "Review the first sync" in card
    assert (
        "Review the first sync" in client.get(reverse("integrations:company_integrations")).content.decode()
    )
    assert (
        "Review the first sync"
        in client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    )
    url = reverse("integrations:first_sync_review", args=[integration.pk])
    page = client.get(url).content.decode()
    found = first_sync.summary(integration)
    assert "Nothing has been created and nobody has been emailed" in page
    assert found["create_examples"][0] in page and "Filters in effect" in page
    assert 'name="send_invitations" checked' in page
    response = client.post(url, {"action": "confirm", "section": "hris"})  # invitations left unticked
    assert response.status_code == 302
    assert client.post(url, {"action": "confirm", "send_invitations": "on"}).status_code == 302
    assert work_off_provisioning() == 1
    assert len(provisioned(integration)) == found["create"] and not sent_mail()
    card = client.get(reverse("integrations:hris_settings")).content.decode()
    assert "waiting for your review" not in card


def test_the_review_page_declines_and_recomputes(sandbox: Sandbox) -> None:
    integration, admin, _ = waiting_for_review(sandbox)
    client = signed_in(admin)
    url = reverse("integrations:first_sync_review", args=[integration.pk])
    client.post(url, {"action": "decline"})
    integration.refresh_from_db()
    assert integration.review_state == ReviewState.DECLINED
    assert 'id="declined"' in client.get(url).content.decode()
    policy = ProvisioningPolicy.objects.get(organization=integration.organization)
    policy.departments = ["Nowhere"]
    policy.save()
    assert 'id="filters-changed"' in client.get(url).content.decode()
    client.post(url, {"action": "recompute"})
    integration.refresh_from_db()
    assert first_sync.summary(integration)["create"] == 0
    assert 'id="filters-changed"' not in client.get(url).content.decode()
    assert users_of(integration) == 1 and not provisioning_passes()


def test_only_the_organizations_admins_may_review(sandbox: Sandbox) -> None:
    integration, _admin, _ = waiting_for_review(sandbox)
    url = reverse("integrations:first_sync_review", args=[integration.pk])
    member = make_user(integration.organization)
    assert signed_in(member).get(url).status_code == 403
    assert signed_in(member).post(url, {"action": "confirm"}).status_code == 403
    outsider = make_user(make_org(), role=Role.ADMIN)
    assert signed_in(outsider).get(url).status_code == 404
    assert signed_in(outsider).post(url, {"action": "confirm"}).status_code == 404
    integration.refresh_from_db()
    assert review.needs_review(integration) and not provisioning_passes()


def test_the_command_shows_confirms_and_declines(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    integration, _admin, _ = waiting_for_review(sandbox)
    out = io.StringIO()
    call_command("review_first_sync", str(integration.pk), stdout=out)
    found = first_sync.summary(integration)
    assert f"Users to create: {found['create']}" in out.getvalue() and "Nothing was changed" in out.getvalue()
    assert not provisioning_passes()
    with pytest.raises(CommandError, match="goes with --confirm"):
        call_command("review_first_sync", str(integration.pk), "--no-invitations")
    call_command("review_first_sync", str(integration.pk), "--decline", stdout=io.StringIO())
    integration.refresh_from_db()
    assert integration.review_state == ReviewState.DECLINED
    call_command("review_first_sync", str(integration.pk), "--confirm", "--no-invitations", stdout=out)
    assert "without invitations" in out.getvalue()
    work_off_provisioning()
    assert len(provisioned(integration)) == found["create"] and not sent_mail()
    with pytest.raises(CommandError, match="not waiting for review"):
        call_command("review_first_sync", str(integration.pk), "--confirm")


def test_a_confirm_during_a_run_leaves_provisioning_to_the_confirmation(
    sandbox: Sandbox, work_off_provisioning: Callable[[], int]
) -> None:
    """A run that began while the review waited provisions nothing even if the review is confirmed before
    it ends: the confirmation's pass does, with invitations as the admin chose them (here: none)."""
    integration, admin, tenant = waiting_for_review(sandbox)
    expected = first_sync.summary(integration)["create"] + 1
    sandbox.control("POST", people_path(tenant))  # a hire: the run reads a page
    sandbox.merge_sync()

    def confirm_meanwhile(_run: object) -> None:
        review.confirm(integration=integration, membership=admin.membership, send_invitations=False)

    run = sync_integration(integration_id=integration.pk, trigger=Trigger.ADMIN, progress=confirm_meanwhile)
    assert run is not None and run.provisioned == 0
    assert users_of(integration) == 1
    work_off_provisioning()
    assert len(provisioned(integration)) == expected
    assert not sent_mail()


def test_the_summary_costs_the_same_queries_for_more_people(sandbox: Sandbox) -> None:
    """Counts by aggregate queries and the planner's chunks: no query per person."""
    small, _, _ = waiting_for_review(sandbox, size=20)
    large, _, _ = waiting_for_review(sandbox, size=40)
    costs = []
    for integration in (small, large):
        with CaptureQueriesContext(connection) as queries:
            first_sync.compute(integration)
        costs.append(len(queries))
    assert costs[0] == costs[1]


def reconnected(
    sandbox: Sandbox, provider: str, *, size: int = 8
) -> tuple[Integration, User, list[str], str]:
    """An organization provisioned from BambooHR, disconnected, and connected again to `provider` (BambooHR
    again or another HRIS) holding the same people and a member added by hand before; its first sync read
    and waiting for review. Returns the integration, its admin, the emails of the users the directory's
    people already were, and the member's email."""
    organization = make_org()
    same = {"name": "Again", "size": size, "seed": 12, "domain": f"again{organization.pk}.example"}
    tenant = sandbox.control("POST", "tenants", provider="bamboohr", **same)
    integration, admin = link(sandbox, organization, tenant)
    sync(integration, Trigger.SETUP)
    users = sorted(
        Person.objects.for_org(organization).filter(user__isnull=False).values_list("user__email", flat=True)
    )
    assert disconnect.disconnect(integration=integration, by=admin) == ""
    if provider != "bamboohr":
        tenant = sandbox.control("POST", "tenants", provider=provider, **same)
    member = make_user(organization, email=f"by.hand@{same['domain']}").email
    sandbox.control("POST", people_path(tenant), work_email=member)
    sandbox.merge_sync()
    again, _ = link(sandbox, organization, tenant, review_first_sync=True)
    assert again.pk == integration.pk and again.provider_slug == provider
    sync(again, Trigger.SETUP)
    return again, admin, users, member


@pytest.mark.parametrize("provider", ["bamboohr", "hibob"])
def test_after_a_disconnect_the_review_counts_the_people_who_already_are_users(
    sandbox: Sandbox, provider: str
) -> None:
    """Connecting again, the directory's people already have users: they are matched (already linked),
    apart from the members found by work email and linked for the first time."""
    integration, admin, users, member = reconnected(sandbox, provider)
    assert len(users) >= 6

    found = first_sync.summary(integration)

    assert (found["create"], found["matched"]) == (0, len(users) + 1)
    assert found["matched_by"] == {"already linked": len(users), "work email": 1}
    assert (found["already_linked"], found["already_linked_examples"]) == (len(users), users)
    assert (found["linked_by_email"], found["linked_by_email_examples"]) == (1, [member])
    page = signed_in(admin).get(reverse("integrations:first_sync_review", args=[integration.pk]))
    shown = page.content.decode()
    assert f"<strong>{len(users) + 1}</strong>existing users matched" in shown
    assert f"Already linked to their record ({len(users)})" in shown and users[0] in shown
    assert "Found by work email (1)" in shown and member in shown
    out = io.StringIO()
    call_command("review_first_sync", str(integration.pk), stdout=out)
    told = out.getvalue()
    assert f"Existing users matched: {len(users) + 1}" in told
    assert f"Already linked: {len(users)}" in told and f"      {users[0]}" in told
    assert f"By work email: 1\n      {member}\n" in told


def test_the_summary_of_a_connection_made_again_costs_the_same_queries_for_more_people(
    sandbox: Sandbox,
) -> None:
    """People who already are users are counted and listed by aggregate queries: none per person."""
    costs = []
    for size in (8, 16):
        integration, _, users, _ = reconnected(sandbox, "hibob", size=size)
        with CaptureQueriesContext(connection) as queries:
            found = first_sync.compute(integration)
        assert found["already_linked"] == len(users)
        costs.append(len(queries))
    assert costs[0] == costs[1]


def test_a_summary_stored_before_matches_were_told_apart_reads_as_members_found_by_work_email() -> None:
    integration = make_integration(make_org())
    integration.review_summary = {"people": 3, "matched": 1, "matched_examples": ["ada@example.com"]}

    found = first_sync.summary(integration)

    assert (found["matched"], found["already_linked"], found["linked_by_email"]) == (1, 0, 1)
    assert found["linked_by_email_examples"] == ["ada@example.com"] and found["matched_examples"] == []


def test_after_a_disconnect_the_people_found_are_the_new_sources_only(sandbox: Sandbox) -> None:
    """A person only the old provider knew stays in the directory, but the new source did not find them."""
    organization = make_org()
    same = {"name": "Fewer", "size": 8, "seed": 14, "domain": f"fewer{organization.pk}.example"}
    integration, admin = link(
        sandbox, organization, sandbox.control("POST", "tenants", provider="bamboohr", **same)
    )
    sync(integration, Trigger.SETUP)
    assert disconnect.disconnect(integration=integration, by=admin) == ""
    hibob = sandbox.control("POST", "tenants", provider="hibob", **same)
    gone = sandbox.control("GET", f"{people_path(hibob)}?limit=1")["results"][0]
    sandbox.control("DELETE", f"{people_path(hibob)}/{gone['remote_id']}")
    again, _ = link(sandbox, organization, hibob, review_first_sync=True)
    sync(again, Trigger.SETUP)

    found = first_sync.summary(again)

    assert Person.objects.for_org(organization).count() == 8
    assert (found["people"], found["already_linked"], found["create"]) == (7, 7, 0)

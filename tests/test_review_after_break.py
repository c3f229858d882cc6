"""Review after reconnection: after any break the organization lived through, every change to its users waits
for an admin, whichever run reads the changes first."""

import pytest
from django.urls import reverse
from django.utils.html import escape
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.provisioning.review import decide
from skillibrium.provisioning.tasks import provision_everyone
from skillibrium.sync.models import RunStatus

from .sandboxed import Sandbox, people_path, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def break_by_provider_outage(sandbox: Sandbox, integration: Integration, tenant: dict[str, str]) -> None:
    sandbox.control("POST", f"tenants/{tenant['id']}/offline")
    sandbox.merge_sync()
    assert sync(integration).status == RunStatus.SUCCEEDED and integration.health == Health.DEGRADED
    sandbox.control("POST", f"tenants/{tenant['id']}/online")


def break_by_merge_outage(sandbox: Sandbox, integration: Integration, tenant: dict[str, str]) -> None:
    sandbox.control("POST", "outage", mode="503")
    try:
        assert sync(integration).status == RunStatus.FAILED and integration.health == Health.DEGRADED
    finally:
        sandbox.control("DELETE", "outage")


def break_by_relink(sandbox: Sandbox, integration: Integration, tenant: dict[str, str]) -> None:
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    assert sync(integration).status == RunStatus.FAILED and integration.health == Health.RELINK_NEEDED
    admin = User.objects.get(pk=integration.linked_by_id)
    token = relink.start_link(organization=integration.organization, category="hris", email=admin.email)
    public = sandbox.complete_link(token, tenant, password)
    relink.complete_relink(integration=integration, public_token=public, membership=admin.membership)


@pytest.mark.parametrize("broken", [break_by_provider_outage, break_by_merge_outage, break_by_relink])
@pytest.mark.parametrize("first_run", [Trigger.WEBHOOK, Trigger.SCHEDULE])
def test_item_8_every_change_after_any_break_waits_for_review(
    sandbox: Sandbox, settings: Settings, broken: object, first_run: Trigger
) -> None:
    """Issue item 8: a relink, a Merge outage or a provider outage; then a webhook-started or scheduled run
    (not the relink's catch-up) reads the changes: creations, deactivations, name changes and profile changes
    (a manager, a title) are all held, none applied; the directory keeps what was last applied. Once the
    admin has approved, they apply, and later runs apply changes as usual."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, _admin, tenant, client = setup(sandbox, size=12)
    organization = integration.organization
    ProvisioningPolicy.objects.update_or_create(
        organization=organization, defaults={"review_after_reconnection": True}
    )
    leaver, renamed, promoted, boss = provisioned(integration)[1:5]
    before = (promoted.title, promoted.manager_id)
    assert callable(broken)
    broken(sandbox, integration, tenant)
    people = f"tenants/{tenant['id']}/people"
    sandbox.control("POST", people, first_name="Ida", last_name="Rhodes")
    sandbox.control("POST", f"{people}/{leaver.identities.get().remote_id}/terminate")
    sandbox.control("PATCH", f"{people}/{renamed.identities.get().remote_id}", last_name="Renamed")
    sandbox.control(
        "PATCH",
        f"{people}/{promoted.identities.get().remote_id}",
        title="Head of Things",
        manager=boss.identities.get().remote_id,
    )
    sandbox.merge_sync()

    run = sync(integration, first_run)

    assert run.status == RunStatus.SUCCEEDED and integration.health == Health.HEALTHY
    held = HeldChange.objects.filter(organization=organization, status=HoldStatus.PENDING)
    assert {(h.kind, h.reason) for h in held} == {
        (ChangeKind.CREATE, HoldReason.RECONNECTION_REVIEW),
        (ChangeKind.DEACTIVATE, HoldReason.RECONNECTION_REVIEW),
        (ChangeKind.UPDATE, HoldReason.RECONNECTION_REVIEW),
    }
    assert User.objects.get(pk=leaver.user_id).is_active
    assert User.objects.get(pk=renamed.user_id).last_name != "Renamed"
    assert Person.objects.for_org(organization).get(last_name="Rhodes").user is None
    promoted.refresh_from_db()
    assert (promoted.title, promoted.manager_id) == before
    profile = held.get(person=promoted, kind=ChangeKind.UPDATE)
    assert "Head of Things" in profile.evidence and boss.name in profile.evidence
    queue = client.get(reverse("provisioning:review")).content.decode()
    assert escape(f"Title: {before[0]} → Head of Things") in queue and escape(f"→ {boss.name}") in queue
    decide(membership=User.objects.get(pk=integration.linked_by_id).membership, held_ids=None, approve=True)
    assert User.objects.get(pk=renamed.user_id).last_name == "Renamed"
    promoted.refresh_from_db()
    assert (promoted.title, promoted.manager_id) == ("Head of Things", boss.pk)
    assert not User.objects.get(pk=leaver.user_id).is_active
    sandbox.control("PATCH", f"{people}/{renamed.identities.get().remote_id}", last_name="Again")
    sandbox.merge_sync()
    assert sync(integration).held == 0
    assert User.objects.get(pk=renamed.user_id).last_name == "Again"


def test_item_8_a_policy_change_during_an_unreviewed_break_applies_nothing_first(sandbox: Sandbox) -> None:
    """Issue item 8: the organization-wide pass after a policy change is another way to apply changes: while
    a break is not yet reviewed, it holds them too."""
    integration, _admin, tenant, _ = setup(sandbox, size=8)
    organization = integration.organization
    ProvisioningPolicy.objects.update_or_create(
        organization=organization, defaults={"review_after_reconnection": True}
    )
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Ida", last_name="Rhodes")
    sandbox.merge_sync()
    assert sync(integration).status == RunStatus.SUCCEEDED
    # A person in the directory without a user yet (theirs removed here), and a break not yet reviewed.
    hire = Person.objects.for_org(organization).get(last_name="Rhodes")
    User.objects.filter(pk=hire.user_id).delete()
    integration.note_break()

    provision_everyone.call(organization.pk)

    assert Person.objects.for_org(organization).get(pk=hire.pk).user is None
    assert HeldChange.objects.filter(person=hire, kind=ChangeKind.CREATE, status=HoldStatus.PENDING).exists()


def test_item_8_a_later_run_applies_nothing_held_before_the_admin_decides(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Issue item 8: once the run after a break has held the changes, the next routine run (the break now
    considered) applies none of them first: the leaver stays active, the name, title and manager stay as last
    applied, until an admin approves."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, admin, tenant, _ = setup(sandbox, size=12)
    ProvisioningPolicy.objects.update_or_create(
        organization=integration.organization, defaults={"review_after_reconnection": True}
    )
    leaver, renamed, promoted, boss = provisioned(integration)[1:5]
    before = (promoted.title, promoted.manager_id)
    break_by_merge_outage(sandbox, integration, tenant)
    sandbox.control("POST", f"{people_path(tenant, leaver)}/terminate")
    sandbox.control("PATCH", people_path(tenant, renamed), last_name="Renamed")
    boss_id = boss.identities.get().remote_id
    sandbox.control("PATCH", people_path(tenant, promoted), title="Head of Things", manager=boss_id)
    sandbox.merge_sync()
    pending = HeldChange.objects.filter(organization=integration.organization, status=HoldStatus.PENDING)
    held_run = sync(integration, Trigger.WEBHOOK)
    assert held_run.status == RunStatus.SUCCEEDED and pending.count() == held_run.held == 3

    assert sync(integration, Trigger.SCHEDULE).status == RunStatus.SUCCEEDED

    assert User.objects.get(pk=leaver.user_id).is_active
    assert User.objects.get(pk=renamed.user_id).last_name != "Renamed"
    promoted.refresh_from_db()
    assert (promoted.title, promoted.manager_id) == before != ("Head of Things", boss.pk)
    assert pending.count() == 3
    decide(membership=admin.membership, held_ids=None, approve=True)
    assert not User.objects.get(pk=leaver.user_id).is_active
    promoted.refresh_from_db()
    assert (promoted.title, promoted.manager_id) == ("Head of Things", boss.pk)


def test_item_8_a_rejected_change_after_a_break_is_not_applied_by_a_later_run(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Issue item 8: the admin rejects what was held after a break (a new hire, a name change, a title); the
    next routine run and a pass over everyone apply none of it; a later change at the source is new and
    applies as usual."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, admin, tenant, _ = setup(sandbox, size=8)
    organization = integration.organization
    ProvisioningPolicy.objects.update_or_create(
        organization=organization, defaults={"review_after_reconnection": True}
    )
    renamed, promoted = provisioned(integration)[1:3]
    break_by_merge_outage(sandbox, integration, tenant)
    sandbox.control("POST", people_path(tenant), first_name="Ida", last_name="Rhodes")
    sandbox.control("PATCH", people_path(tenant, renamed), last_name="Renamed")
    sandbox.control("PATCH", people_path(tenant, promoted), title="Head of Things", last_name="Promoted")
    sandbox.merge_sync()
    assert sync(integration, Trigger.WEBHOOK).status == RunStatus.SUCCEEDED
    assert decide(membership=admin.membership, held_ids=None, approve=False) == 3

    assert sync(integration, Trigger.SCHEDULE).status == RunStatus.SUCCEEDED
    provision_everyone.call(organization.pk)  # a pass over everyone, as after a policy change

    assert Person.objects.for_org(organization).get(last_name="Rhodes").user is None
    assert User.objects.get(pk=renamed.user_id).last_name != "Renamed"
    assert Person.objects.get(pk=promoted.pk).title != "Head of Things"
    assert User.objects.get(pk=promoted.user_id).last_name != "Promoted"
    sandbox.control("PATCH", people_path(tenant, renamed), last_name="Later")
    sandbox.control("PATCH", people_path(tenant, promoted), title="Later Title")
    sandbox.merge_sync()
    sync(integration, Trigger.SCHEDULE)
    assert User.objects.get(pk=renamed.user_id).last_name == "Later"
    assert Person.objects.get(pk=promoted.pk).title == "Later Title"

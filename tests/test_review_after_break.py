"""Review after reconnection: after any break the organization lived through, every change to its users waits
for an admin, whichever run reads the changes first."""

import pytest
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

from .sandboxed import Sandbox, provisioned, setup, sync

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
    (not the relink's catch-up) reads the changes: creations, deactivations and name changes are all held,
    none applied. Once the admin has decided, later runs apply changes as usual."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, _admin, tenant, _ = setup(sandbox, size=12)
    organization = integration.organization
    ProvisioningPolicy.objects.update_or_create(
        organization=organization, defaults={"review_after_reconnection": True}
    )
    leaver, renamed = provisioned(integration)[1:3]
    assert callable(broken)
    broken(sandbox, integration, tenant)
    people = f"tenants/{tenant['id']}/people"
    sandbox.control("POST", people, first_name="Ida", last_name="Rhodes")
    sandbox.control("POST", f"{people}/{leaver.identities.get().remote_id}/terminate")
    sandbox.control("PATCH", f"{people}/{renamed.identities.get().remote_id}", last_name="Renamed")
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
    decide(membership=User.objects.get(pk=integration.linked_by_id).membership, held_ids=None, approve=True)
    assert User.objects.get(pk=renamed.user_id).last_name == "Renamed"
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

"""The sync engine against a real Merge sandbox: full, incremental, broken, relinked, caught up."""

import pytest

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus

from .factories import make_org
from .mailbox import sent_mail
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def test_full_sync_builds_the_directory_and_provisions(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=30)
    org = make_org()
    integration, _ = link(sandbox, org, tenant)

    run = sync(integration, Trigger.SETUP)

    assert run.status == RunStatus.SUCCEEDED, run.error
    people = Person.objects.for_org(org)
    assert people.count() == 30 == run.created
    active_with_email = people.filter(employment_status="ACTIVE").exclude(work_email="").count()
    assert run.provisioned == active_with_email > 0
    assert people.filter(manager__isnull=False).count() >= 25
    assert people.exclude(team="").count() == 30
    assert integration.health == Health.HEALTHY and integration.sync_watermark is not None


def test_repeated_sync_without_changes_changes_nothing(sandbox: Sandbox) -> None:
    integration, _ = link(sandbox, make_org(), sandbox.tenant(size=20))
    sync(integration)
    before = list(Person.objects.for_org(integration.organization).values().order_by("pk"))

    again = sync(integration)

    assert (again.created, again.updated, again.provisioned, again.deactivated) == (0, 0, 0, 0)
    assert list(Person.objects.for_org(integration.organization).values().order_by("pk")) == before


def test_managers_and_teams_follow_changes(sandbox: Sandbox) -> None:
    """A manager already in the directory is set as the page is written; one who is not there yet (a hire
    written in the same batch) is set once the last page is in. Team names follow team moves."""
    tenant = sandbox.tenant(size=30)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    people = Person.objects.for_org(integration.organization)
    first, second, boss = people.exclude(manager=None).order_by("pk")[:3]
    mover = people.exclude(team__in=["", first.team]).order_by("pk").first()
    assert mover is not None

    def source(person: Person) -> str:
        return f"tenants/{tenant['id']}/people/{person.identities.get().remote_id}"

    hire = sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Grace", last_name="Hopper")
    sandbox.control("PATCH", source(first), manager=hire["remote_id"])
    sandbox.control("PATCH", source(second), manager=boss.identities.get().remote_id)
    sandbox.control("PATCH", source(first), team=sandbox.control("GET", source(mover))["team"])
    sandbox.merge_sync()

    run = sync(integration)

    assert run.status == RunStatus.SUCCEEDED and run.created == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.manager == people.get(last_name="Hopper", first_name="Grace")
    assert second.manager == boss
    assert first.team == mover.team


def test_a_relink_leaves_what_a_sync_did_meanwhile_alone(sandbox: Sandbox) -> None:
    """The relink request loaded the integration before a sync ran and took its sync lease: completing
    the relink must not write back the lease and watermark as they were."""
    tenant = sandbox.tenant(size=10)
    integration, admin = link(sandbox, make_org(), tenant)
    loaded_by_the_request = Integration.objects.get(pk=integration.pk)
    sync(integration)
    assert integration.take_sync_lease(300, trigger=Trigger.SCHEDULE)
    token = relink.start_link(
        organization=integration.organization, category="hris", email=admin.email, integration="workday"
    )

    relink.complete_relink(
        integration=loaded_by_the_request,
        public_token=sandbox.complete_link(token, tenant),
        membership=admin.membership,
    )

    now = Integration.objects.get(pk=integration.pk)
    assert now.sync_lease_until is not None and now.sync_watermark == integration.sync_watermark is not None


def test_password_reset_pauses_then_relink_catches_up(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=25)
    org = make_org()
    integration, admin = link(sandbox, org, tenant)
    sync(integration)
    leaver = Person.objects.for_org(org).filter(user__isnull=False).exclude(user=admin).first()
    assert leaver is not None

    new_password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    hire = sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Grace", last_name="Hopper")
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leaver_remote_id(leaver)}/terminate")
    failed = sync(integration)

    assert failed.status == RunStatus.FAILED
    assert (integration.health, integration.cause) == (Health.RELINK_NEEDED, Cause.PASSWORD_RESET)
    assert [m.to for m in sent_mail()] == [[admin.email]]
    assert "Action required" in sent_mail()[0].subject
    assert sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE) is None

    token = relink.start_link(organization=org, category="hris", email=admin.email, integration="workday")
    with pytest.raises(PermissionError):
        sandbox.complete_link(token, tenant)  # the old password no longer works
    token = relink.start_link(organization=org, category="hris", email=admin.email, integration="workday")
    outcome = relink.complete_relink(
        integration=integration,
        public_token=sandbox.complete_link(token, tenant, new_password),
        membership=admin.membership,
    )
    assert outcome.same_account
    sandbox.merge_sync()
    caught_up = sync(integration, Trigger.RELINK)

    assert caught_up.status == RunStatus.SUCCEEDED, caught_up.error
    assert integration.health == Health.HEALTHY
    assert Person.objects.for_org(org).filter(last_name="Hopper", user__is_active=True).count() == 1
    assert User.objects.get(pk=leaver.user_id).is_active is False
    assert "syncing again" in sent_mail()[-1].subject
    assert hire["first_name"] == "Grace"


def leaver_remote_id(person: Person) -> str:
    return person.identities.get().remote_id


def test_relink_to_another_linked_account_keeps_everyone(sandbox: Sandbox) -> None:
    """Merge may hand back a new linked account for the same provider tenant (for example after the old one
    was deleted): its records carry new Merge ids. People keep their records and users; nobody doubles."""
    tenant = sandbox.tenant(size=25, seed=11)
    org = make_org()
    integration, admin = link(sandbox, org, tenant)
    sync(integration)
    before = dict(Person.objects.for_org(org).values_list("pk", "user_id"))
    old_ids = set(integration.identities.values_list("merge_id", flat=True))
    leaver = Person.objects.for_org(org).filter(user__isnull=False).exclude(user=admin).first()
    assert leaver is not None
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leaver_remote_id(leaver)}/terminate")

    org.merge_origin_id = f"{org.merge_origin_id}-again"  # Merge sees another end user: a new account
    token = relink.start_link(organization=org, category="hris", email=admin.email, integration="workday")
    public = sandbox.complete_link(token, tenant)
    membership = admin.membership
    outcome = relink.complete_relink(integration=integration, public_token=public, membership=membership)
    sandbox.merge_sync()
    run = sync(integration, Trigger.RELINK)

    assert not outcome.same_account and run.status == RunStatus.SUCCEEDED, run.error
    assert integration.rekey_from_account == "" and run.created == 0
    assert dict(Person.objects.for_org(org).exclude(pk=leaver.pk).values_list("pk", "user_id")) == {
        pk: user for pk, user in before.items() if pk != leaver.pk
    }
    new_ids = set(integration.identities.values_list("merge_id", flat=True))
    assert len(new_ids) == 25 and not new_ids & old_ids
    assert User.objects.get(pk=leaver.user_id).is_active is False
    assert Person.objects.for_org(org).count() == len(before)

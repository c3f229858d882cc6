"""Switching vendor, keeping people: BambooHR replaced by HiBob from the Edit page. The new source is read and
reviewed beside the current one (matched by work email, then employee number; new; only in the old source)
while nothing changes; confirming moves each matched person's record to the new account, deletes the old
account at Merge, and never deactivates anyone for their absence; declining deletes the new account."""

import io
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Organization, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import switch
from skillibrium.integrations.choices import Category, Health, Trigger
from skillibrium.integrations.disconnect import finish_pending_deletions
from skillibrium.integrations.models import Integration, Replacement, ReplacementState, RetiredAccount
from skillibrium.provisioning.apply import provision_organization
from skillibrium.sync.preview import read_replacement

from .factories import make_org, signed_in
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db

SIZE = 8


def _tenant(sandbox: Sandbox, provider: str, seed: int) -> dict[str, Any]:
    """The same company in two HR systems: the same seed, size and domain give the same people."""
    return dict(
        sandbox.control(
            "POST",
            "tenants",
            provider=provider,
            name=f"Globex {provider}",
            size=SIZE,
            seed=seed,
            domain=f"globex{seed}.example",
        )
    )


def _people(sandbox: Sandbox, tenant: dict[str, Any]) -> list[dict[str, Any]]:
    return list(sandbox.control("GET", f"tenants/{tenant['id']}/people?limit=1000")["results"])


def _bamboohr(sandbox: Sandbox, seed: int) -> tuple[Integration, User, Client]:
    integration, admin = link(sandbox, make_org(), _tenant(sandbox, "bamboohr", seed))
    sync(integration, Trigger.SETUP)
    provision_organization(organization_id=integration.organization_id)
    return integration, admin, signed_in(admin)


def _link_replacement(
    sandbox: Sandbox, client: Client, integration: Integration, tenant: dict[str, Any]
) -> Replacement:
    started = client.post(reverse("integrations:switch_start", args=[integration.pk]))
    assert started.status_code == 200, started.content
    public = sandbox.complete_link(started.json()["link_token"], tenant, pick=True)
    done = client.post(
        reverse("integrations:switch_complete", args=[integration.pk]),
        {"public_token": public, "section": "hris"},
    )
    assert done.status_code == 302
    assert done["Location"].startswith(reverse("integrations:switch_review", args=[integration.pk]))
    replacement = Replacement.objects.get(integration=integration)
    assert replacement.state == ReplacementState.READING
    queued = DBTaskResult.objects.ready().filter(task_path__endswith=".read_replacement_account")
    assert [t.args_kwargs["args"] for t in queued] == [[replacement.pk]]
    assert read_replacement(replacement.pk) == ReplacementState.READY
    replacement.refresh_from_db()
    return replacement


def _listed(sandbox: Sandbox, *account_ids: str) -> set[str]:
    """Which of these HRIS linked accounts Merge still lists."""
    response = httpx.get(
        f"{sandbox.url}/api/hris/v1/linked-accounts",
        params={"ids": ",".join(account_ids)},
        headers={"Authorization": f"Bearer {settings.MERGE_API_KEY}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {a["id"] for a in response.json()["results"]}


def _state(organization: Organization) -> dict[str, tuple[int | None, bool]]:
    """Each person by email: their user, and whether it is active."""
    return {
        p.work_email: (p.user_id, bool(p.user and p.user.is_active))
        for p in Person.objects.for_org(organization).select_related("user")
    }


def test_the_switch_is_reviewed_beside_the_current_source_then_keeps_everyone(sandbox: Sandbox) -> None:
    integration, admin, client = _bamboohr(sandbox, seed=701)
    organization = integration.organization
    before = _state(organization)
    old_account = integration.merge_account_id
    hibob = _tenant(sandbox, "hibob", seed=701)
    people = _people(sandbox, hibob)
    renamed, gone, new_hire = people[1], people[2], {"first_name": "Nadia", "last_name": "Quist"}
    # In HiBob one person has another address (found by employee number), one is not there at all, and one
    # is new.
    sandbox.control(
        "PATCH", f"tenants/{hibob['id']}/people/{renamed['remote_id']}", work_email="r.new@globex701.example"
    )
    sandbox.control("DELETE", f"tenants/{hibob['id']}/people/{gone['remote_id']}")
    hired = sandbox.control("POST", f"tenants/{hibob['id']}/people", **new_hire)
    clear_mail()

    replacement = _link_replacement(sandbox, client, integration, hibob)

    found = replacement.summary
    assert (found["records"], found["matched"], found["new"], found["only_in_old"]) == (SIZE, SIZE - 1, 1, 1)
    assert found["matched_by"] == {"work email": SIZE - 2, "employee number": 1}
    assert any("by employee number" in e and renamed["work_email"] in e for e in found["matched_examples"])
    assert any(gone["work_email"] in e for e in found["only_in_old_examples"])
    assert any("Nadia Quist" in e for e in found["new_examples"])
    # Nothing changed while it waits: the same account, the same people, no mail; BambooHR still syncs.
    integration.refresh_from_db()
    assert integration.merge_account_id == old_account and integration.provider_slug == "bamboohr"
    assert _state(organization) == before
    assert sync(integration).status == "succeeded"
    assert sent_mail() == []
    edit = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert "The switch to HiBob is ready for your review." in edit
    page = client.get(reverse("integrations:switch_review", args=[integration.pk])).content.decode()
    assert "Switch from BambooHR to HiBob" in page and "Nobody is deactivated for it" in page

    answer = client.post(reverse("integrations:switch_review", args=[integration.pk]), {"action": "confirm"})
    assert answer.status_code == 302
    integration.refresh_from_db()
    assert (integration.provider_slug, integration.merge_account_id) == (
        "hibob",
        replacement.merge_account_id,
    )
    assert integration.origin_id == replacement.origin_id != organization.merge_origin_id
    assert not Replacement.objects.filter(integration=integration).exists()
    # The old account is gone at Merge; only the new one is listed.
    assert _listed(sandbox, old_account, replacement.merge_account_id) == {replacement.merge_account_id}
    assert not RetiredAccount.objects.exists()
    audit = AuditEntry.objects.filter(organization=organization, action="integration.switched").get()
    assert (audit.actor_id, audit.detail["from_provider"], audit.detail["to_provider"]) == (
        admin.pk,
        "BambooHR",
        "HiBob",
    )

    sync(integration, Trigger.SETUP)
    provision_organization(organization_id=organization.pk)
    after = _state(organization)
    # Everyone keeps their user (the one found by employee number too, now under the new address); the
    # person HiBob does not list stays active; the new hire is one new person; nobody doubled.
    assert after.pop(hired["work_email"])[0] is not None
    assert after.pop("r.new@globex701.example") == before.pop(renamed["work_email"])
    assert after == before
    assert Person.objects.for_org(organization).count() == SIZE + 1
    current = SourceIdentity.objects.filter(integration=integration, superseded=False)
    assert current.count() == SIZE
    assert set(current.values_list("merge_id", flat=True)).isdisjoint(
        SourceIdentity.objects.filter(integration=integration, superseded=True).values_list("merge_id")
    )
    assert integration.health == Health.HEALTHY
    # Later syncs of the new source, full reads included, still deactivate nobody for being absent.
    Integration.objects.filter(pk=integration.pk).update(last_full_read_at=None)
    sync(integration)
    provision_organization(organization_id=organization.pk)
    assert _state(organization)[gone["work_email"]] == before[gone["work_email"]]


def test_declining_deletes_the_new_account_and_changes_nothing(sandbox: Sandbox) -> None:
    integration, admin, client = _bamboohr(sandbox, seed=702)
    before = (_state(integration.organization), integration.merge_account_id)
    replacement = _link_replacement(sandbox, client, integration, _tenant(sandbox, "hibob", seed=702))
    both = (integration.merge_account_id, replacement.merge_account_id)
    assert _listed(sandbox, *both) == set(both)

    client.post(reverse("integrations:switch_review", args=[integration.pk]), {"action": "decline"})

    integration.refresh_from_db()
    assert (_state(integration.organization), integration.merge_account_id) == before
    assert not Replacement.objects.exists()
    assert _listed(sandbox, *both) == {integration.merge_account_id}
    assert AuditEntry.objects.filter(action="integration.switch_declined", actor=admin).count() == 1
    # A second confirm or decline (another tab) finds nothing to do.
    assert not switch.confirm(integration=integration, membership=admin.membership)
    assert not switch.decline(integration=integration, membership=admin.membership)


def test_a_second_confirm_switches_once(sandbox: Sandbox) -> None:
    integration, admin, client = _bamboohr(sandbox, seed=703)
    _link_replacement(sandbox, client, integration, _tenant(sandbox, "hibob", seed=703))

    assert switch.confirm(integration=integration, membership=admin.membership)
    assert not switch.confirm(integration=integration, membership=admin.membership)

    assert AuditEntry.objects.filter(action="integration.switched").count() == 1
    assert SourceIdentity.objects.filter(integration=integration, superseded=False).count() == SIZE


def test_the_old_account_is_deleted_later_when_merge_does_not_answer(sandbox: Sandbox) -> None:
    integration, admin, client = _bamboohr(sandbox, seed=704)
    _link_replacement(sandbox, client, integration, _tenant(sandbox, "hibob", seed=704))
    old = integration.merge_account_id
    sandbox.control("POST", "outage", mode="503")
    try:
        assert switch.confirm(integration=integration, membership=admin.membership)
        assert RetiredAccount.objects.get().merge_account_id == old
    finally:
        sandbox.control("DELETE", "outage")

    assert finish_pending_deletions() == 0
    assert not RetiredAccount.objects.exists()
    assert _listed(sandbox, old, integration.merge_account_id) == {integration.merge_account_id}


def test_a_replacement_that_cannot_be_read_says_why_and_can_be_read_again(sandbox: Sandbox) -> None:
    integration, _, client = _bamboohr(sandbox, seed=705)
    hibob = _tenant(sandbox, "hibob", seed=705)
    started = client.post(reverse("integrations:switch_start", args=[integration.pk]))
    public = sandbox.complete_link(started.json()["link_token"], hibob, pick=True)
    client.post(reverse("integrations:switch_complete", args=[integration.pk]), {"public_token": public})
    replacement = Replacement.objects.get()
    sandbox.control("POST", "outage", mode="503")
    try:
        assert read_replacement(replacement.pk) == ReplacementState.FAILED
    finally:
        sandbox.control("DELETE", "outage")
    replacement.refresh_from_db()
    assert replacement.error
    page = client.get(reverse("integrations:switch_review", args=[integration.pk])).content.decode()
    assert "could not be read" in page and "Confirm the switch" not in page
    assert not switch.confirm(integration=integration, membership=integration.linked_by.membership)

    client.post(reverse("integrations:switch_review", args=[integration.pk]), {"action": "read_again"})
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.READING
    assert read_replacement(replacement.pk) == ReplacementState.READY


def test_only_an_admin_of_the_organization_can_switch(sandbox: Sandbox) -> None:
    integration, _, _ = _bamboohr(sandbox, seed=706)
    from .factories import make_user

    member = signed_in(make_user(integration.organization))
    stranger = signed_in(make_user(make_org(), role="admin"))
    for client, status in ((member, 403), (stranger, 404)):
        for name in ("switch_start", "switch_complete", "switch_review"):
            answer = client.post(
                reverse(f"integrations:{name}", args=[integration.pk]), {"action": "confirm"}
            )
            assert answer.status_code == status, (name, status)
    assert not Replacement.objects.exists()


def test_a_crm_switch_from_salesforce_to_hubspot_keeps_everyone(sandbox: Sandbox) -> None:
    same = {"size": SIZE, "seed": 707, "domain": "initech707.example"}
    salesforce = sandbox.control("POST", "tenants", provider="salesforce", name="Initech SF", **same)
    integration, admin = link(sandbox, make_org(), salesforce, Category.CRM)
    sync(integration, Trigger.SETUP)
    provision_organization(organization_id=integration.organization_id)
    before = _state(integration.organization)
    hubspot = sandbox.control("POST", "tenants", provider="hubspot", name="Initech HS", **same)
    client = signed_in(admin)
    edit = client.get(reverse("integrations:company_edit", args=[integration.pk])).content.decode()
    assert "Replace with another CRM" in edit

    replacement = _link_replacement(sandbox, client, integration, hubspot)
    found = replacement.summary
    assert (found["records"], found["matched"], found["new"], found["only_in_old"]) == (SIZE, SIZE, 0, 0)
    edit = client.get(reverse("integrations:company_edit", args=[integration.pk])).content.decode()
    assert "Replace with another CRM" not in edit and "The switch to HubSpot is ready" in edit

    assert switch.confirm(integration=integration, membership=admin.membership)
    sync(integration, Trigger.SETUP)
    provision_organization(organization_id=integration.organization_id)

    assert integration.provider_slug == "hubspot"
    assert _state(integration.organization) == before


def test_a_person_only_the_crm_knew_is_the_new_hris_s_once_matched(sandbox: Sandbox) -> None:
    """Matched by work email to someone the CRM brought, the new HRIS takes them over: its values and its
    employment status decide for them, not the CRM's."""
    integration, admin, client = _bamboohr(sandbox, seed=708)
    hibob = _tenant(sandbox, "hibob", seed=708)
    seller = Person.objects.create(
        organization=integration.organization, source_category="crm", work_email="seller@globex708.example"
    )
    sandbox.control(
        "POST",
        f"tenants/{hibob['id']}/people",
        first_name="Sal",
        last_name="Es",
        work_email=seller.work_email,
    )

    replacement = _link_replacement(sandbox, client, integration, hibob)
    assert (replacement.summary["matched"], replacement.summary["new"]) == (SIZE + 1, 0)
    assert switch.confirm(integration=integration, membership=admin.membership)
    sync(integration, Trigger.SETUP)

    seller.refresh_from_db()
    assert (seller.source_category, seller.first_name, seller.last_name) == ("hris", "Sal", "Es")


def test_the_command_shows_and_confirms_the_switch(sandbox: Sandbox) -> None:
    integration, _, client = _bamboohr(sandbox, seed=709)
    _link_replacement(sandbox, client, integration, _tenant(sandbox, "hibob", seed=709))

    shown, confirmed = io.StringIO(), io.StringIO()
    call_command("review_switch", str(integration.pk), stdout=shown)
    call_command("review_switch", str(integration.pk), "--confirm", stdout=confirmed)

    assert "Switch from BambooHR to HiBob" in shown.getvalue()
    assert f"  Matched to the directory's people: {SIZE}" in shown.getvalue()
    assert "Nothing was changed" in shown.getvalue()
    assert "Switched to HiBob" in confirmed.getvalue()
    integration.refresh_from_db()
    assert integration.provider_slug == "hibob"
    with pytest.raises(CommandError, match="no replacement is linked"):
        call_command("review_switch", str(integration.pk))

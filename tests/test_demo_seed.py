"""`make demo`'s seed against a real sandbox: the CRM's users are some of the HRIS's people, so My Org shows
each human once."""

from typing import Any

import pytest

from skillibrium.demo.data import seed_demo
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration, client_for

from .sandboxed import Sandbox, sync

pytestmark = pytest.mark.django_db


def _tenant_people(sandbox: Sandbox, integration: Integration) -> list[dict[str, Any]]:
    """The people of the sandbox tenant behind the integration's linked account."""
    accounts = sandbox.control("GET", "linked-accounts")["results"]
    tenant = next(a["tenant_id"] for a in accounts if a["id"] == integration.merge_account_id)
    return list(sandbox.control("GET", f"tenants/{tenant}/people?limit=1000")["results"])


def test_the_demo_crm_users_are_hris_people_each_one_person_in_my_org(sandbox: Sandbox) -> None:
    seed = seed_demo(size=30, crm="hubspot")
    crm = Integration.objects.get(organization=seed.organization, category=Category.CRM)

    for integration in (seed.integration, crm):
        sync(integration, Trigger.SETUP)

    employees = {e["work_email"] for e in _tenant_people(sandbox, seed.integration)}
    users = {u["email"] for u in _tenant_people(sandbox, crm)}
    assert len(users) == 10 and users < employees
    people = Person.objects.for_org(seed.organization)
    assert people.count() == 30
    assert set(people.filter(identities__integration=crm).values_list("work_email", flat=True)) == users
    assert not people.filter(title="").exists() and not people.filter(team="").exists()
    assert SourceIdentity.objects.filter(integration=crm).count() == 10


def test_seeding_again_after_the_sandbox_lost_the_crm_draws_it_from_the_same_hris(sandbox: Sandbox) -> None:
    seed = seed_demo(size=20, crm="salesforce")
    gone = Integration.objects.get(organization=seed.organization, category=Category.CRM).merge_account_id
    with client_for(Integration.objects.get(organization=seed.organization, category=Category.CRM)) as client:
        client.delete_account()

    again = seed_demo(size=20, crm="salesforce")

    assert again.integration == seed.integration and again.tenant == {}
    crm = Integration.objects.get(organization=seed.organization, category=Category.CRM)
    assert crm.merge_account_id != gone
    employees = {e["work_email"] for e in _tenant_people(sandbox, seed.integration)}
    assert {u["email"] for u in _tenant_people(sandbox, crm)} < employees

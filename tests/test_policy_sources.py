"""Provisioning filters: a filter on a field that a source does not supply does not exclude its people."""

import pytest
from django.urls import reverse

from skillibrium.accounts.models import Role
from skillibrium.directory.models import Person
from skillibrium.integrations.choices import Category
from skillibrium.provisioning.apply import provision_organization
from skillibrium.provisioning.models import ProvisioningPolicy

from .factories import make_integration, make_org, make_user, signed_in
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def test_department_and_location_filters_do_not_exclude_every_crm_user() -> None:
    """Issue item 15: CRM users have no department or location (nor employment type); a filter on those
    decides who of the HRIS people get a user and leaves CRM users to their own status."""
    org = make_org()
    make_user(org, role=Role.ADMIN)
    make_integration(org, category=Category.HRIS)
    make_integration(org, category=Category.CRM)
    ProvisioningPolicy.objects.create(
        organization=org, departments=["Engineering"], locations=["Berlin"], employment_types=["FULL_TIME"]
    )
    fields = {"organization": org, "employment_status": "ACTIVE"}
    inside = {"department": "Engineering", "location": "Berlin", "employment_type": "FULL_TIME"}
    Person.objects.create(**fields, work_email="eng@example.com", source_category="hris", **inside)
    Person.objects.create(
        **fields, work_email="ops@example.com", source_category="hris", **(inside | {"department": "Ops"})
    )
    Person.objects.create(**fields, work_email="rep@example.com", source_category="crm")
    Person.objects.create(
        organization=org, employment_status="INACTIVE", work_email="gone@example.com", source_category="crm"
    )

    changes = provision_organization(organization_id=org.pk)

    with_users = Person.objects.filter(organization=org, user__isnull=False)
    assert sorted(with_users.values_list("work_email", flat=True)) == ["eng@example.com", "rep@example.com"]
    assert changes.created == 2


def test_the_filter_page_says_what_each_source_supplies() -> None:
    """Issue item 15: the policy page tells the admin which fields each source supplies."""
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)

    page = signed_in(admin).get(reverse("provisioning:policy")).content.decode()

    assert "What each source supplies" in page
    assert "<td>HRIS</td><td>employment status, employment type, department, location</td>" in page
    assert "<td>CRM</td><td>employment status</td>" in page
    assert "a CRM supplies no department, so CRM users are not filtered out by it" in page


def test_a_crm_sync_provisions_its_users_under_a_department_filter(sandbox: Sandbox) -> None:
    """Issue item 15, end to end: a HubSpot sync (people provisioned as their pages arrive) gives its active
    users a Skillibrium user although the organization filters HRIS people by department and location."""
    org = make_org()
    ProvisioningPolicy.objects.create(organization=org, departments=["Engineering"], locations=["Berlin"])
    crm, _ = link(sandbox, org, sandbox.tenant(provider="hubspot", size=6, seed=51), Category.CRM)

    run = sync(crm)

    people = Person.objects.filter(organization=org, source_category="crm")
    active = people.filter(employment_status="ACTIVE").exclude(work_email="")
    assert active.count() > 0 and run.provisioned == active.count()
    assert not active.filter(user__isnull=True).exists()

"""Who a person is and whether they are active, against a real sandbox: statuses the product does not know,
pre-hires, rehires under a new id, and work emails that change at the source."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person
from skillibrium.provisioning.models import ProvisioningPolicy

from .sandboxed import Sandbox, people_path, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def test_item_6_an_unknown_employment_status_is_not_active_and_is_reported(sandbox: Sandbox) -> None:
    """Issue item 6: `SUSPENDED` (an enum value Merge added later) neither invites a new hire nor reactivates
    a leaver, deactivates nobody, and the run says which value it did not know."""
    integration, _, tenant, _ = setup(sandbox, size=12)
    stays, leaver = provisioned(integration)[1:3]
    sandbox.control("POST", f"{people_path(tenant, leaver)}/terminate")
    sandbox.merge_sync()
    sync(integration)
    assert not User.objects.get(pk=leaver.user_id).is_active
    sandbox.control("POST", f"{people_path(tenant, leaver)}/rehire")
    for person in (leaver, stays):
        sandbox.control("PATCH", people_path(tenant, person), status="SUSPENDED")
    hire = sandbox.control(
        "POST", people_path(tenant), first_name="Sus", last_name="Pended", status="SUSPENDED"
    )
    sandbox.merge_sync()

    run = sync(integration)

    assert (run.provisioned, run.deactivated, run.held) == (0, 0, 0)
    assert not User.objects.get(pk=leaver.user_id).is_active
    assert User.objects.get(pk=stays.user_id).is_active
    assert not User.objects.filter(email=hire["work_email"]).exists()
    assert Person.objects.get(pk=stays.pk).employment_status == "SUSPENDED"
    assert any("'SUSPENDED' is unknown" in w and "3 records" in w for w in run.warnings), run.warnings


def test_item_6_a_pre_hire_is_invited_only_days_before_the_start_date(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue item 6: a pre-hire starting in 10 days is not invited while the policy's window (7 days, edited
    on the policy page) is not open; once it is, the next run invites them though their record did not
    change."""
    integration, _, tenant, client = setup(sandbox, size=12)
    response = client.post(
        reverse("provisioning:policy"),
        {
            "employment_statuses": ["ACTIVE", "PENDING"],
            "mass_deactivation_percent": "20",
            "mass_deactivation_minimum_users": "10",
            "invite_days_before_start": "7",
            "send_invitations": "on",
        },
    )
    assert response.status_code == 302
    assert ProvisioningPolicy.objects.get(organization=integration.organization).invite_days_before_start == 7
    start = timezone.now().date() + dt.timedelta(days=10)
    hire = sandbox.control(
        "POST", people_path(tenant), first_name="Pre", last_name="Hire", start_date=start.isoformat()
    )
    sandbox.merge_sync()

    run = sync(integration)

    assert run.provisioned == 0
    person = Person.objects.get(organization=integration.organization, work_email=hire["work_email"])
    assert (person.employment_status, person.start_date, person.user_id) == ("PENDING", start, None)
    assert sync(integration).provisioned == 0

    later = timezone.now() + dt.timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    run = sync(integration)

    assert (run.updated, run.provisioned) == (0, 1)
    assert User.objects.get(email=hire["work_email"]).is_active


def test_item_5_a_rehire_under_a_new_id_stays_active_when_the_old_record_changes_or_goes(
    sandbox: Sandbox,
) -> None:
    """Issue item 5: the rehire's new record joins the former person and decides their status; a later edit
    of the old (terminated) record, then its deletion, leave them active."""
    integration, _, tenant, _ = setup(sandbox, size=12)
    person = provisioned(integration)[2]
    old = sandbox.control("POST", f"{people_path(tenant, person)}/terminate")
    sandbox.merge_sync()
    sync(integration)
    names = {k: old[k] for k in ("first_name", "last_name", "preferred_name") if old.get(k)}
    sandbox.control("POST", people_path(tenant), work_email=person.work_email, **names)
    sandbox.merge_sync()
    people_before = Person.objects.for_org(integration.organization).count()

    sync(integration)

    assert Person.objects.for_org(integration.organization).count() == people_before
    assert person.identities.count() == 2 and User.objects.get(pk=person.user_id).is_active

    sandbox.control("PATCH", f"tenants/{tenant['id']}/people/{old['remote_id']}", last_name="Formerly")
    sandbox.merge_sync()
    assert sync(integration).updated == 1
    person.refresh_from_db()
    assert (person.employment_status, person.termination_date, person.last_name) == (
        "ACTIVE",
        None,
        names["last_name"],
    )
    assert User.objects.get(pk=person.user_id).is_active

    sandbox.control("DELETE", f"tenants/{tenant['id']}/people/{old['remote_id']}")
    sandbox.merge_sync()
    run = sync(integration)
    person.refresh_from_db()
    assert (run.deactivated, run.held, person.remote_was_deleted) == (0, 0, False)
    assert User.objects.get(pk=person.user_id).is_active

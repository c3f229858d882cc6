"""A person's page in My Org: why they have or lack access, in one sentence, and the runs that touched
them."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import AccessOverride, Organization, Role, User
from skillibrium.directory.models import EmploymentStatus, Person
from skillibrium.integrations.choices import Trigger
from skillibrium.provisioning.explain import access_sentence
from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldReason, ProvisioningPolicy
from skillibrium.sync import log
from skillibrium.sync.models import RunAction, SyncRun

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def make_person(
    organization: Organization, *, user: User | None = None, active: bool = True, **fields: object
) -> Person:
    if user is not None and not active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    values = {"first_name": "Dana", "last_name": "Reyes", "work_email": "dana@people.example"} | fields
    created = Person.objects.create(organization=organization, user=user, **values)
    return Person.objects.select_related("user").get(pk=created.pk)


@pytest.fixture
def organization() -> Organization:
    organization = make_org()
    make_user(organization, role=Role.ADMIN)  # another active admin: Dana is never the last one
    make_integration(organization)
    return organization


def test_an_active_user_with_no_evidence_of_leaving_has_access(organization: Organization) -> None:
    person = make_person(organization, user=make_user(organization))
    assert access_sentence(person) == (
        "Dana Reyes has access: their user is active and the source shows no evidence of leaving "
        "(employment status Active)."
    )


def test_a_held_deactivation_says_what_it_waits_for(organization: Organization) -> None:
    ended = TODAY - dt.timedelta(days=2)
    person = make_person(organization, user=make_user(organization), termination_date=ended)
    HeldChange.objects.create(
        organization=organization,
        person=person,
        kind=ChangeKind.DEACTIVATE,
        reason=HoldReason.MASS_DEACTIVATION,
        evidence=f"terminated on {ended.isoformat()}",
    )
    assert access_sentence(person) == (
        "Dana Reyes has access: deactivating them waits for an admin's review (mass-deactivation safeguard: "
        f"terminated on {ended.isoformat()})."
    )


def test_an_admins_hand_decisions_are_named(organization: Organization) -> None:
    kept = make_user(organization)
    kept.membership.access_override = AccessOverride.KEPT_ACTIVE
    kept.membership.save()
    person = make_person(organization, user=kept, employment_status=EmploymentStatus.INACTIVE)
    assert access_sentence(person) == (
        "Dana Reyes has access: an admin keeps them active by hand, whatever the source says."
    )
    off = make_user(organization)
    off.membership.access_override = AccessOverride.KEPT_DEACTIVATED
    off.membership.save()
    other = make_person(organization, user=off, active=False, work_email="off@people.example")
    assert access_sentence(other) == (
        "Dana Reyes lacks access: an admin deactivated their user by hand, whatever the source says."
    )


def test_evidence_of_leaving_is_named_before_and_after_the_deactivation(organization: Organization) -> None:
    leaving = make_person(organization, user=make_user(organization), employment_status="INACTIVE")
    assert access_sentence(leaving) == (
        "Dana Reyes has access: the source says employment status is inactive; "
        "the next sync deactivates them."
    )
    ended = TODAY - dt.timedelta(days=1)
    gone = make_person(
        organization,
        user=make_user(organization),
        active=False,
        termination_date=ended,
        work_email="g@p.example",
    )
    assert access_sentence(gone) == (
        f"Dana Reyes lacks access: their user was deactivated because the source says terminated on {ended}."
    )


def test_without_a_user_the_policy_or_the_start_date_is_named(organization: Organization) -> None:
    pending = make_person(organization, employment_status=EmploymentStatus.PENDING)
    assert access_sentence(pending) == (
        "Dana Reyes lacks access: the provisioning policy does not admit employment status Pending."
    )
    ProvisioningPolicy.objects.create(organization=organization, departments=["Research"])
    sales = make_person(organization, department="Sales", work_email="s@people.example")
    assert access_sentence(sales) == (
        "Dana Reyes lacks access: the provisioning policy's filters "
        "(employment type, department or location) leave them out."
    )
    starts = TODAY + dt.timedelta(days=30)
    hire = make_person(organization, department="Research", start_date=starts, work_email="h@people.example")
    assert access_sentence(hire) == (
        f"Dana Reyes lacks access: they start on {starts}, and users are created 7 days before the start."
    )
    nobody = make_person(organization, work_email="", department="Research")
    assert access_sentence(nobody) == (
        "Dana Reyes lacks access: the source has no work email for them, and a user needs one."
    )


def test_a_held_creation_names_its_reason(organization: Organization) -> None:
    person = make_person(organization)
    HeldChange.objects.create(
        organization=organization,
        person=person,
        kind=ChangeKind.CREATE,
        reason=HoldReason.EMAIL_TAKEN,
        evidence="dana@people.example: another Skillibrium user has this address",
    )
    assert access_sentence(person) == (
        "Dana Reyes lacks access: creating their user waits for an admin's review (the address belongs to "
        "another user: dana@people.example: another Skillibrium user has this address)."
    )


def test_the_page_shows_the_sentence_and_links_to_the_runs_that_touched_them(
    organization: Organization,
) -> None:
    admin = User.objects.get(membership__organization=organization, membership__role=Role.ADMIN)
    person = make_person(organization, user=make_user(organization))
    run = SyncRun.objects.create(integration=organization.integrations.get(), trigger=Trigger.WEBHOOK)
    log.write(
        RunAction.UPDATED,
        [(person.pk, "m-1", person.name, person.work_email, {"fields": {"title": ["", "Engineer"]}})],
        run_id=run.pk,
    )
    url = reverse("directory:person", args=[person.pk])

    page = signed_in(admin).get(url).content.decode()

    assert access_sentence(person) in page.replace("&#x27;", "'")
    assert reverse("integrations:run_detail", args=[run.integration_id, run.pk]) in page
    assert "Title: — → Engineer" in page
    assert url in signed_in(admin).get(reverse("directory:my_org")).content.decode()
    assert signed_in(make_user(organization)).get(url).status_code == 403
    assert signed_in(make_user(make_org(), role=Role.ADMIN)).get(url).status_code == 404

"""Apply a provisioning plan to the organization's users."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.models import record
from skillibrium.directory.models import Person

from .plan import Candidate, plan_provisioning


@dataclass(frozen=True)
class Changes:
    created: int
    reactivated: int
    deactivated: int


def _candidates(organization: Organization) -> list[Candidate]:
    members = {
        m.user.email: m for m in Membership.objects.filter(organization=organization).select_related("user")
    }
    result = []
    people = Person.objects.for_org(organization).select_related("user__membership")
    for person in people.only(
        "pk", "work_email", "employment_status", "termination_date", "remote_was_deleted", "user"
    ):
        user = person.user
        if user is None and person.work_email in members:
            user = members[person.work_email].user
        result.append(
            Candidate(
                person_id=person.pk,
                email=person.work_email,
                employment_status=person.employment_status,
                termination_date=person.termination_date,
                remote_was_deleted=person.remote_was_deleted,
                user_id=user.pk if user else None,
                user_active=bool(user and user.is_active),
                user_is_admin=bool(user and members.get(user.email) and members[user.email].is_admin),
            )
        )
    return result


def provision_organization(*, organization_id: int) -> Changes:
    organization = Organization.objects.get(pk=organization_id)
    today = timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()
    admins = Membership.objects.filter(
        organization=organization, role=Role.ADMIN, user__is_active=True
    ).count()
    plan = plan_provisioning(_candidates(organization), today=today, active_admins=admins)
    with transaction.atomic():
        for candidate in plan.create:
            _create_user(organization, candidate)
        for candidate in plan.reactivate:
            _set_active(organization, candidate, active=True)
        for candidate in plan.deactivate:
            _set_active(organization, candidate, active=False)
    return Changes(len(plan.create), len(plan.reactivate), len(plan.deactivate))


def _create_user(organization: Organization, candidate: Candidate) -> None:
    person = Person.objects.get(pk=candidate.person_id)
    existing = User.objects.filter(email__iexact=candidate.email).first()
    if existing is not None:
        # Someone with this email belongs elsewhere; never move a user between organizations.
        return
    user = User.objects.create_user(candidate.email, first_name=person.first_name, last_name=person.last_name)
    Membership.objects.create(user=user, organization=organization, role=Role.MEMBER)
    person.user = user
    person.save(update_fields=["user"])
    record(organization_id=organization.pk, action="user.created", target=candidate.email)


def _set_active(organization: Organization, candidate: Candidate, *, active: bool) -> None:
    if candidate.user_id is None:
        return
    User.objects.filter(pk=candidate.user_id).update(is_active=active)
    Person.objects.filter(pk=candidate.person_id, user__isnull=True).update(user_id=candidate.user_id)
    action = "user.reactivated" if active else "user.deactivated"
    record(organization_id=organization.pk, action=action, target=candidate.email)

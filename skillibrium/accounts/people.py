"""An admin's hand decisions on the organization's users: roles, and access the HRIS or CRM may disagree with.

A hand decision the source would undo on its next sync (reactivating someone it says left, deactivating
someone it says works here) is kept as the membership's access override, which provisioning's planner
respects until an admin clears it. One the source agrees with needs none, and clears any earlier one.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from skillibrium.core.models import record

from .models import AccessOverride, Membership, Role

SOURCE_NAMES = {"hris": "HRIS", "crm": "CRM"}


class PeopleRefused(Exception):
    """A change to a user that would leave the organization worse off; the message says why."""


@dataclass(frozen=True)
class Outcome:
    message: str
    # Set when the source disagrees: what the next sync would have done, now held off by the override.
    note: str = ""


def member_of(admin: Membership, user_id: int) -> Membership:
    """The organization's membership of that user; another organization's user is not found."""
    return Membership.objects.select_related("user", "user__person").get(
        organization_id=admin.organization_id, user_id=user_id
    )


def active_admins(organization_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(organization_id=organization_id, role=Role.ADMIN, user__is_active=True)


def _guard_last_admin(target: Membership, doing: str) -> None:
    if target.is_admin and target.user.is_active and active_admins(target.organization_id).count() <= 1:
        raise PeopleRefused(
            f"{target.user.display_name} is the organization's last active admin and cannot be {doing}. "
            "Make someone else an admin first."
        )


def set_role(*, admin: Membership, target: Membership, role: Role) -> Outcome:
    if target.role == role:
        return Outcome(f"{target.user.display_name} is already {role.label.lower()}.")
    with transaction.atomic():
        list(active_admins(admin.organization_id).select_for_update(of=("self",)))
        if role == Role.MEMBER:
            _guard_last_admin(target, "made a member")
        before, target.role = target.role, role
        target.save(update_fields=["role"])
        record(
            organization_id=admin.organization_id,
            actor_id=admin.user_id,
            action="user.promoted" if role == Role.ADMIN else "user.demoted",
            target=target.user.email,
            before={"role": before},
            after={"role": str(role)},
        )
    return Outcome(f"{target.user.display_name} is now {'an admin' if role == Role.ADMIN else 'a member'}.")


def set_active(*, admin: Membership, target: Membership, active: bool) -> Outcome:
    """Deactivating also ends the user's sessions: core/middleware.py flushes them on their next request."""
    user = target.user
    if user.is_active == active:
        return Outcome(f"{user.display_name} is already {'active' if active else 'deactivated'}.")
    if not active and user.pk == admin.user_id:
        raise PeopleRefused("You cannot deactivate yourself. Ask another admin.")
    with transaction.atomic():
        list(active_admins(admin.organization_id).select_for_update(of=("self",)))
        if not active:
            _guard_last_admin(target, "deactivated")
        disagrees = _source_disagrees(target, active=active)
        override = (
            "" if not disagrees else AccessOverride.KEPT_ACTIVE if active else AccessOverride.KEPT_DEACTIVATED
        )
        before = {"active": user.is_active, "override": target.access_override}
        user.is_active = active
        user.save(update_fields=["is_active"])
        target.access_override = override
        target.save(update_fields=["access_override"])
        record(
            organization_id=admin.organization_id,
            actor_id=admin.user_id,
            action="user.reactivated_by_hand" if active else "user.deactivated_by_hand",
            target=user.email,
            before=before,
            after={"active": active, "override": str(override)},
            source_says=disagrees,
        )
    done = f"{user.display_name} {'is active again' if active else 'is deactivated and signed out'}."
    if not disagrees:
        return Outcome(done)
    source = SOURCE_NAMES.get(user.person.source_category, "source")
    undo = "reactivate" if not active else "deactivate"
    return Outcome(
        done,
        note=f"The {source} says {disagrees}: its next sync would {undo} {user.display_name}. Your decision "
        "is kept as an override, across syncs, until you clear it.",
    )


def clear_override(*, admin: Membership, target: Membership) -> Outcome:
    if not target.access_override:
        return Outcome(f"{target.user.display_name} has no override.")
    from skillibrium.provisioning.tasks import provision_everyone

    before, target.access_override = target.access_override, ""
    target.save(update_fields=["access_override"])
    # The source's word applies now, not only when this person next changes there.
    transaction.on_commit(lambda: provision_everyone.enqueue(admin.organization_id))
    record(
        organization_id=admin.organization_id,
        actor_id=admin.user_id,
        action="user.override_cleared",
        target=target.user.email,
        before={"override": before},
        after={"override": ""},
    )
    return Outcome(
        f"Override cleared: Skillibrium now provisions {target.user.display_name} "
        "as the source and the policy say."
    )


def _source_disagrees(target: Membership, *, active: bool) -> str:
    """What the user's HRIS or CRM says that its next sync would act on against this hand decision (empty:
    nothing, or the user is nobody's person and provisioning never touches them)."""
    from skillibrium.provisioning.models import ProvisioningPolicy
    from skillibrium.provisioning.scope import org_today
    from skillibrium.provisioning.snapshot import candidates

    person = getattr(target.user, "person", None)
    if person is None:
        return ""
    organization = target.organization
    today = org_today(organization)
    candidate = candidates([person])[0]
    if active:
        return candidate.leaving_evidence(today)
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    return (
        "they are active and within the provisioning policy" if candidate.is_admitted(policy, today) else ""
    )

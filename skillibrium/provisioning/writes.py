"""The database side of provisioning: users, memberships, holds and their audit entries, in bulk."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models.functions import Lower

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person

from .models import ChangeKind, HeldChange, HoldReason
from .plan import Candidate

if TYPE_CHECKING:
    from skillibrium.sync.models import SyncRun


def candidates(people: list[Person]) -> list[Candidate]:
    """Snapshot people and their users; a person not yet linked is matched to a member by email."""
    organization_id = people[0].organization_id if people else 0
    unlinked = {p.work_email for p in people if p.user is None and p.work_email}
    by_email = {
        m.email_key: m
        for m in Membership.objects.filter(organization_id=organization_id)
        .select_related("user")
        .annotate(email_key=Lower("user__email"))
        .filter(email_key__in=unlinked)
    }
    result = []
    for p in people:
        user = p.user
        membership = getattr(user, "membership", None) if user else None
        if user is None and p.work_email in by_email:
            membership = by_email[p.work_email]
            user = membership.user
        result.append(
            Candidate(
                person_id=p.pk,
                email=p.work_email,
                first_name=p.first_name,
                last_name=p.last_name,
                employment_status=p.employment_status,
                employment_type=p.employment_type,
                department=p.department,
                location=p.location,
                termination_date=p.termination_date,
                remote_was_deleted=p.remote_was_deleted,
                user_id=user.pk if user else None,
                user_active=bool(user and user.is_active),
                user_is_admin=bool(
                    membership and membership.organization_id == organization_id and membership.is_admin
                ),
                user_first_name=user.first_name if user else "",
                user_last_name=user.last_name if user else "",
            )
        )
    return result


def _audit(
    organization: Organization,
    action: str,
    rows: Sequence[tuple[str, Mapping[str, object]]],
    actor: User | None = None,
) -> None:
    AuditEntry.objects.bulk_create(
        AuditEntry(organization=organization, actor=actor, action=action, target=target, detail=detail)
        for target, detail in rows
    )


def create_users(organization: Organization, people: list[Candidate], *, invite: bool) -> int:
    if not people:
        return 0
    taken = set(
        User.objects.annotate(e=Lower("email"))
        .filter(e__in=[c.email for c in people])
        .values_list("e", flat=True)
    )
    fresh = [c for c in people if c.email not in taken]
    users = User.objects.bulk_create(
        User(email=c.email, first_name=c.first_name, last_name=c.last_name, password=make_password(None))
        for c in fresh
    )
    Membership.objects.bulk_create(
        Membership(user=u, organization=organization, role=Role.MEMBER) for u in users
    )
    Person.objects.bulk_update(
        [Person(pk=c.person_id, user=u) for c, u in zip(fresh, users, strict=True)], ["user"], batch_size=1000
    )
    _audit(organization, "user.created", [(c.email, {"after": {"active": True}}) for c in fresh])
    _audit(
        organization,
        "user.conflict",
        [(c.email, {"reason": "email belongs to another organization"}) for c in people if c.email in taken],
    )
    if invite and users:
        from skillibrium.notifications.tasks import send_invitations

        ids = [u.pk for u in users]
        transaction.on_commit(lambda: send_invitations.enqueue(ids))
    return len(users)


def set_active(
    organization: Organization, people: list[Candidate], *, active: bool, today: dt.date | None = None
) -> int:
    if not people:
        return 0
    User.objects.filter(pk__in=[c.user_id for c in people]).update(is_active=active)
    Person.objects.bulk_update(
        [Person(pk=c.person_id, user_id=c.user_id) for c in people], ["user"], batch_size=1000
    )
    rows = [
        (
            c.email,
            {"before": {"active": not active}, "after": {"active": active}}
            | ({"evidence": c.leaving_evidence(today)} if today else {}),
        )
        for c in people
    ]
    _audit(organization, "user.reactivated" if active else "user.deactivated", rows)
    return len(people)


def update_profiles(organization: Organization, people: list[Candidate]) -> int:
    User.objects.bulk_update(
        [User(pk=c.user_id, first_name=c.first_name, last_name=c.last_name) for c in people],
        ["first_name", "last_name"],
        batch_size=1000,
    )
    rows = [
        (
            c.email,
            {
                "before": {"name": f"{c.user_first_name} {c.user_last_name}"},
                "after": {"name": f"{c.first_name} {c.last_name}"},
            },
        )
        for c in people
    ]
    _audit(organization, "user.updated", rows)
    return len(people)


def hold(
    organization: Organization,
    changes: list[tuple[Candidate, ChangeKind, HoldReason]],
    *,
    run: "SyncRun | None",
    today: dt.date,
) -> int:
    created = HeldChange.objects.bulk_create(
        [
            HeldChange(
                organization=organization,
                person_id=c.person_id,
                kind=kind,
                reason=reason,
                run=run,
                evidence=c.leaving_evidence(today),
            )
            for c, kind, reason in changes
        ],
        ignore_conflicts=True,
    )
    _audit(organization, "provisioning.held", [(c.email, {"kind": k, "reason": r}) for c, k, r in changes])
    return len(created)


def record_kept_admins(organization: Organization, people: list[Candidate]) -> None:
    _audit(
        organization, "user.kept_last_admin", [(c.email, {"evidence": "last active admin"}) for c in people]
    )

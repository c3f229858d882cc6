"""The database side of provisioning: users, memberships, holds and their audit entries, in bulk."""

import base64
import datetime as dt
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.bulk import insert_rows, update_rows
from skillibrium.core.models import AuditEntry, current_run
from skillibrium.directory.models import Person

from .models import ChangeKind, HeldChange, HoldReason, HoldStatus
from .plan import Candidate, Rejections


def candidates(people: list[Person]) -> list[Candidate]:
    """Snapshot people and their users; a person not yet linked is matched to a member by email."""
    organization_id = people[0].organization_id if people else 0
    unlinked = {p.work_email for p in people if p.user is None and p.work_email}
    by_email = {
        m.email_key: m
        for m in Membership.objects.filter(organization_id=organization_id, user__person__isnull=True)
        .select_related("user")
        .annotate(email_key=Lower("user__email"))
        .filter(email_key__any_of=unlinked)
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
                start_date=p.start_date,
                remote_was_deleted=p.remote_was_deleted,
                source_category=p.source_category,
                not_seen=p.not_seen_since is not None,
                user_id=user.pk if user else None,
                user_active=bool(user and user.is_active),
                user_is_admin=bool(
                    membership and membership.organization_id == organization_id and membership.is_admin
                ),
                user_first_name=user.first_name if user else "",
                user_last_name=user.last_name if user else "",
                user_email=user.email if user else "",
                matched_by_email=p.user is None and user is not None,
            )
        )
    return result


def candidate_chunks(people: QuerySet[Person], size: int) -> Iterator[list[Candidate]]:
    """The same snapshots as candidates(), read as plain values in pages of `size` people by id."""
    last = 0
    while True:
        rows = list(people.filter(pk__gt=last).order_by("pk").values_list(*_CANDIDATE_COLUMNS)[:size])
        if not rows:
            return
        last = rows[-1][0]
        yield _candidates_from_values(rows)
        if len(rows) < size:
            return


_CANDIDATE_COLUMNS = (
    "pk",
    "organization_id",
    "work_email",
    "first_name",
    "last_name",
    "employment_status",
    "employment_type",
    "department",
    "location",
    "termination_date",
    "start_date",
    "remote_was_deleted",
    "source_category",
    "not_seen_since",
    "user_id",
    "user__is_active",
    "user__first_name",
    "user__last_name",
    "user__email",
    "user__membership__organization_id",
    "user__membership__role",
)


def _members_by_email(organization_id: int, emails: set[str]) -> dict[str, tuple[Any, ...]]:
    """Members of the organization not yet anyone's, by (lower-cased) email: user id, active, names, email,
    organization, role. A user who is another person's is never matched by an address they left behind."""
    if not emails:
        return {}
    rows = (
        Membership.objects.filter(organization_id=organization_id, user__person__isnull=True)
        .annotate(email_key=Lower("user__email"))
        .filter(email_key__any_of=emails)
        .values_list(
            "email_key",
            "user_id",
            "user__is_active",
            "user__first_name",
            "user__last_name",
            "user__email",
            "organization_id",
            "role",
        )
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _candidates_from_values(rows: list[tuple[Any, ...]]) -> list[Candidate]:
    organization_id = rows[0][1]
    user_at = _CANDIDATE_COLUMNS.index("user_id")
    unlinked = {r[2] for r in rows if r[user_at] is None and r[2]}
    by_email = _members_by_email(organization_id, unlinked)
    result = []
    for (
        pk,
        _,
        email,
        first,
        last,
        status,
        kind,
        department,
        location,
        termination,
        start,
        deleted,
        source,
        not_seen_since,
        *user,
    ) in rows:
        user_id, active, user_first, user_last, user_email, member_of, role = user
        matched = user_id is None and email in by_email
        if matched:
            user_id, active, user_first, user_last, user_email, member_of, role = by_email[email]
        result.append(
            Candidate(
                person_id=pk,
                email=email,
                first_name=first,
                last_name=last,
                employment_status=status,
                employment_type=kind,
                department=department,
                location=location,
                termination_date=termination,
                start_date=start,
                remote_was_deleted=deleted,
                source_category=source,
                not_seen=not_seen_since is not None,
                user_id=user_id,
                user_active=bool(user_id and active),
                user_is_admin=bool(role and member_of == organization_id and role == Role.ADMIN),
                user_first_name=user_first if user_id else "",
                user_last_name=user_last if user_id else "",
                user_email=user_email if user_id else "",
                matched_by_email=matched,
            )
        )
    return result


def _audit(
    organization: Organization,
    action: str,
    rows: Sequence[tuple[str, Mapping[str, object]]],
    actor: User | None = None,
) -> None:
    at, run_id = timezone.now(), current_run()
    insert_rows(
        AuditEntry,
        ["organization", "at", "actor", "action", "target", "detail", "run_id"],
        (
            (organization.pk, at, actor.pk if actor else None, action, target, detail, run_id)
            for target, detail in rows
        ),
    )


def _unusable_passwords(count: int) -> list[str]:
    """What make_password(None) stores, each with its own random suffix (password reset tokens hash it), from
    one read of the system's random source instead of one per user and without the hasher's cost."""
    random = base64.urlsafe_b64encode(secrets.token_bytes(30 * count)).decode()  # 40 characters each
    return [UNUSABLE_PASSWORD_PREFIX + random[i * 40 : (i + 1) * 40] for i in range(count)]


def users_with_emails(emails: Iterable[str]) -> set[str]:
    """The (lower-cased) emails among these that a user of any organization already has."""
    wanted = list(emails)
    found = User.objects.annotate(e=Lower("email")).filter(e__any_of=wanted).values_list("e", flat=True)
    return set(found) if wanted else set()


def create_users(
    organization: Organization, people: list[Candidate], *, invite: bool
) -> tuple[int, list[Candidate]]:
    """Users for people the plan creates, linked to them; returns how many, and the people whose email a user
    already has (left for an admin). A second record of the same email in this batch gets none either: users
    are one per email."""
    if not people:
        return 0, []
    taken = users_with_emails(c.email for c in people)
    fresh, seen = [], set(taken)
    for c in people:
        if c.email not in seen:
            seen.add(c.email)
            fresh.append(c)
    user_ids = insert_users(organization, fresh, invite=invite)
    update_rows(Person, ["user"], ((c.person_id, pk) for c, pk in zip(fresh, user_ids, strict=True)))
    return len(user_ids), [c for c in people if c.email in taken]


def insert_users(organization: Organization, people: list[Candidate], *, invite: bool) -> list[int]:
    """New member users for people whose emails no user has, one each; returns their ids in order."""
    user_ids = insert_rows(
        User,
        ["email", "first_name", "last_name", "password"],
        (
            (c.email, c.first_name, c.last_name, password)
            for c, password in zip(people, _unusable_passwords(len(people)), strict=True)
        ),
    )
    insert_rows(
        Membership, ["user", "organization", "role"], ((pk, organization.pk, Role.MEMBER) for pk in user_ids)
    )
    _audit(organization, "user.created", [(c.email, {"after": {"active": True}}) for c in people])
    if invite and user_ids:
        from skillibrium.notifications.tasks import send_invitations

        transaction.on_commit(lambda: send_invitations.enqueue(user_ids))
    return user_ids


def set_active(
    organization: Organization, people: list[Candidate], *, active: bool, today: dt.date | None = None
) -> int:
    if not people:
        return 0
    User.objects.filter(pk__any_of=[c.user_id for c in people]).update(is_active=active)
    update_rows(Person, ["user"], ((c.person_id, c.user_id) for c in people))
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


def link_users(people: list[Candidate]) -> None:
    update_rows(Person, ["user"], ((c.person_id, c.user_id) for c in people))


def record_email_changes(organization: Organization, people: list[Candidate]) -> int:
    rows = [(c.email, {"before": {"email": c.user_email}, "after": {"email": c.email}}) for c in people]
    _audit(organization, "user.email_changed", rows)
    return len(people)


def record_address_released(organization: Organization, email: str, *, released: str) -> None:
    _audit(
        organization,
        "user.email_released",
        [(email, {"before": {"email": email}, "after": {"email": released}})],
    )


def update_profiles(organization: Organization, people: list[Candidate]) -> int:
    update_rows(User, ["first_name", "last_name"], ((c.user_id, c.first_name, c.last_name) for c in people))
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


def rejected_deactivations(person_ids: list[int]) -> Rejections:
    """Of these people, the latest deactivation an admin rejected: its id and the evidence it was about."""
    if not person_ids:
        return {}
    rows = (
        HeldChange.objects.filter(
            person__pk__any_of=person_ids, kind=ChangeKind.DEACTIVATE, status=HoldStatus.REJECTED
        )
        .order_by("person_id", "-decided_at", "-id")
        .values_list("person_id", "pk", "evidence_key")
    )
    latest: dict[int, tuple[int, str]] = {}
    for person_id, pk, key in rows:
        latest.setdefault(person_id, (pk, key))
    return latest


def hold(
    organization: Organization,
    changes: list[tuple[Candidate, ChangeKind, HoldReason]],
    *,
    run_id: int | None,
    today: dt.date,
    previous: Mapping[int, int] | None = None,
    why: Mapping[int, str] | None = None,
) -> int:
    """Holds what is neither held yet nor rejected on the same facts; returns how many. `previous`: person
    id -> the rejected change a held deactivation asks about again; `why`: person id -> the evidence to show,
    if not the leaving evidence."""
    if not changes:
        return 0
    decided = HeldChange.objects.filter(
        person__pk__any_of=[c.person_id for c, _, _ in changes],
        status__in=[HoldStatus.PENDING, HoldStatus.REJECTED],
    ).values_list("person_id", "kind", "status", "evidence_key")
    pending = {(person, kind) for person, kind, status, _ in decided if status == HoldStatus.PENDING}
    rejected = {(person, kind, key) for person, kind, status, key in decided if status == HoldStatus.REJECTED}
    changes = [
        (c, k, r)
        for c, k, r in changes
        if (c.person_id, k) not in pending and (c.person_id, k, _key(c, k)) not in rejected
    ]
    created = HeldChange.objects.bulk_create(
        [
            HeldChange(
                organization=organization,
                person_id=c.person_id,
                kind=kind,
                reason=reason,
                run_id=run_id,
                evidence=((why or {}).get(c.person_id) or c.leaving_evidence(today))[:255],
                evidence_key=_key(c, kind),
                previous_id=(previous or {}).get(c.person_id) if kind == ChangeKind.DEACTIVATE else None,
            )
            for c, kind, reason in changes
        ],
        ignore_conflicts=True,
    )
    _audit(
        organization,
        "provisioning.held",
        [(c.email, {"kind": str(k), "reason": str(r)} | _why(why, c)) for c, k, r in changes],
    )
    return len(created)


def _key(c: Candidate, kind: str) -> str:
    """The facts a decision on this change is about: the leaving evidence, or the address."""
    return c.evidence_key() if kind == ChangeKind.DEACTIVATE else c.email


def _why(why: Mapping[int, str] | None, c: Candidate) -> dict[str, str]:
    return {"evidence": why[c.person_id]} if why and c.person_id in why else {}


def hold_not_seen(
    organization: Organization, people: list[tuple[int, str, dt.datetime]], *, run_id: int
) -> int:
    """People a complete read of their source left out, with when a read last saw them: an admin decides
    (approving deactivates); a later read that sees them withdraws the question."""
    zone = ZoneInfo(organization.time_zone)
    last_seen = {pk: at.astimezone(zone).date().isoformat() for pk, _, at in people}
    reason, kind = HoldReason.NOT_SEEN, ChangeKind.DEACTIVATE
    created = HeldChange.objects.bulk_create(
        [
            HeldChange(
                organization=organization,
                person_id=pk,
                kind=kind,
                reason=reason,
                run_id=run_id,
                evidence=f"not seen at the source; last seen on {last_seen[pk]}",
            )
            for pk, _, _ in people
        ],
        ignore_conflicts=True,
    )
    rows = [(email, {"kind": kind, "reason": reason, "last_seen": last_seen[pk]}) for pk, email, _ in people]
    _audit(organization, "provisioning.held", rows)
    return len(created)


def record_kept_admins(organization: Organization, people: list[Candidate]) -> None:
    _audit(
        organization, "user.kept_last_admin", [(c.email, {"evidence": "last active admin"}) for c in people]
    )

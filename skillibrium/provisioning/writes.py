"""The database side of provisioning: users, memberships, holds and their audit entries, in bulk."""

import base64
import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.bulk import insert_rows, update_rows
from skillibrium.core.models import AuditEntry, current_run
from skillibrium.directory.models import Person
from skillibrium.integrations import handoff
from skillibrium.sync import log
from skillibrium.sync.models import RunAction

from .models import ChangeKind, HeldChange, HoldReason, HoldStatus
from .plan import Candidate, Rejections


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


def _log(action: RunAction, rows: Iterable[tuple[Candidate, Mapping[str, object]]]) -> None:
    """The run's per-person log, when provisioning for a run (sync/log.py)."""
    log.write(
        action,
        (
            (c.person_id or None, "", log.full_name(c.first_name, c.last_name), c.email, details)
            for c, details in rows
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
    _log(RunAction.PROVISIONED, ((c, {"invited": invite}) for c in fresh))
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
    _log(
        RunAction.REACTIVATED if active else RunAction.DEACTIVATED,
        ((c, {"evidence": c.leaving_evidence(today)} if today and not active else {}) for c in people),
    )
    (handoff.owners_back if active else handoff.owners_left)(c.user_id for c in people if c.user_id)
    return len(people)


def link_users(people: list[Candidate]) -> None:
    update_rows(Person, ["user"], ((c.person_id, c.user_id) for c in people))


def record_email_changes(organization: Organization, people: list[Candidate]) -> int:
    rows = [(c.email, {"before": {"email": c.user_email}, "after": {"email": c.email}}) for c in people]
    _audit(organization, "user.email_changed", rows)
    _log(RunAction.USER_UPDATED, ((c, {"fields": {"email": [c.user_email, c.email]}}) for c in people))
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
    _log(
        RunAction.USER_UPDATED,
        (
            (
                c,
                {
                    "fields": {
                        "name": [
                            log.full_name(c.user_first_name, c.user_last_name),
                            log.full_name(c.first_name, c.last_name),
                        ]
                    }
                },
            )
            for c in people
        ),
    )
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
        if (c.person_id, k) not in pending and (c.person_id, k, c.decision_key(k)) not in rejected
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
                evidence_key=c.decision_key(kind),
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
    _log(
        RunAction.HELD,
        (
            (
                c,
                {
                    "kind": k.label,
                    "reason": r.label,
                    "evidence": (why or {}).get(c.person_id) or c.leaving_evidence(today),
                },
            )
            for c, k, r in changes
        ),
    )
    # An owner whose deactivation waits for review is leaving: the other admins are asked now.
    handoff.owners_leaving(c.user_id for c, k, _ in changes if k == ChangeKind.DEACTIVATE and c.user_id)
    return len(created)


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
    log.write(
        RunAction.HELD,
        (
            (
                pk,
                "",
                "",
                email,
                {
                    "kind": kind.label,
                    "reason": reason.label,
                    "evidence": f"not seen at the source; last seen on {last_seen[pk]}",
                },
            )
            for pk, email, _ in people
        ),
        run_id=run_id,
    )
    users = Person.objects.filter(pk__any_of=[pk for pk, _, _ in people], user__isnull=False)
    handoff.owners_leaving(users.values_list("user_id", flat=True))
    return len(created)


def record_kept_admins(organization: Organization, people: list[Candidate]) -> None:
    _audit(
        organization, "user.kept_last_admin", [(c.email, {"evidence": "last active admin"}) for c in people]
    )
    reason = "kept: the last active admin is never deactivated"
    _log(
        RunAction.HELD,
        ((c, {"reason": reason, "evidence": c.leaving_evidence(timezone.localdate())}) for c in people),
    )

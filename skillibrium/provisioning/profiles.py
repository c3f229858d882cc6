"""Profile changes (title, team, department, location, manager) while the organization reviews what follows a
break: the directory keeps what was last applied, and one held change per person carries the new values
until an admin approves them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef

from skillibrium.accounts.models import Organization
from skillibrium.core.models import record
from skillibrium.directory.models import Person
from skillibrium.sync import log
from skillibrium.sync.models import RunAction

from . import writes
from .models import ChangeKind, HeldChange, HoldReason, HoldStatus

PROFILE = ("title", "team", "department", "location", "manager")
LABELS = {"title": "Title", "team": "Team", "department": "Department", "location": "Location"}

type Row = tuple[Any, ...]
type Profile = dict[str, list[Any]]  # field -> [last applied, held]


def _attname(name: str) -> str:
    return "manager_id" if name == "manager" else name


def pending_profile(person: OuterRef) -> Exists:
    """Whether the person has a profile change held: their references are resolved again meanwhile."""
    return Exists(HeldChange.objects.filter(person=person, kind=ChangeKind.UPDATE, status=HoldStatus.PENDING))


def held_profiles(run_id: int) -> int:
    """How many profile changes the run held (those it merged into a change held before are not new)."""
    return HeldChange.objects.filter(run_id=run_id, kind=ChangeKind.UPDATE).exclude(profile={}).count()


def hold_profile_changes(
    organization_id: int, fields: Sequence[str], rows: list[Row], *, run_id: int | None
) -> list[Row]:
    """`rows` are what the sync would write to people: (person id, a value per field, anything after). Of
    people with a user, the profile values are kept as last applied and the new ones held, merged into the
    person's pending change (one per person, with a held name change if any). Returns the rows to write."""
    held = [name for name in PROFILE if name in fields]
    if not rows or not held:
        return rows
    at = {name: list(fields).index(name) + 1 for name in held}
    current = _current(fields, rows, held)
    if not current:
        return rows
    pending = {
        h.person_id: h
        for h in HeldChange.objects.filter(
            person__pk__any_of=list(current), kind=ChangeKind.UPDATE, status=HoldStatus.PENDING
        )
    }
    written, profiles = [], {}
    for row in rows:
        if row[0] not in current:
            written.append(row)
            continue
        before = current[row[0]].before
        after = {name: row[at[name]] for name in held}
        if after != before or row[0] in pending:
            existing = pending[row[0]].profile if row[0] in pending else {}
            profiles[row[0]] = _merged(existing, before, after)
        kept = list(row)
        for name in held:
            kept[at[name]] = before[name]
        written.append(tuple(kept))
    _record(organization_id, profiles, pending, current, run_id=run_id)
    return written


@dataclass(frozen=True, slots=True)
class _Current:
    email: str
    name: str  # what a held name change is decided with: a rejection stays while the name is the same
    before: dict[str, Any]  # the profile as last applied


def _current(fields: Sequence[str], rows: list[Row], held: list[str]) -> dict[int, _Current]:
    """The people of these rows who have a user, as they are (one query), with the name being written."""
    people = Person.objects.filter(pk__any_of=[row[0] for row in rows], user__isnull=False)
    columns = ("pk", "work_email", "first_name", "last_name", *map(_attname, held))
    named = "first_name" in fields and "last_name" in fields
    first, last = (
        (list(fields).index("first_name") + 1, list(fields).index("last_name") + 1) if named else (0, 0)
    )
    written = {row[0]: f"{row[first]} {row[last]}" for row in rows} if named else {}
    return {
        pk: _Current(email, written.get(pk, f"{given} {family}")[:128], dict(zip(held, values, strict=True)))
        for pk, email, given, family, *values in people.values_list(*columns)
    }


def _merged(existing: Profile, before: dict[str, Any], after: dict[str, Any]) -> Profile:
    """The held profile after this write: each field from what was last applied to its newest value (a field
    back to its last applied value holds nothing)."""
    merged = dict(existing)
    for name, value in after.items():
        applied = existing[name][0] if name in existing else before[name]
        if value == applied:
            merged.pop(name, None)
        else:
            merged[name] = [applied, value]
    return merged


def _record(
    organization_id: int,
    profiles: dict[int, Profile],
    pending: dict[int, HeldChange],
    current: dict[int, _Current],
    *,
    run_id: int | None,
) -> None:
    names = _manager_names(profiles.values())
    updated = [pending[pk] for pk in profiles if pk in pending]
    for change in updated:
        change.profile, change.evidence_key = profiles[change.person_id], current[change.person_id].name
        change.evidence = describe(change.profile, names)
    HeldChange.objects.bulk_update(updated, ["profile", "evidence", "evidence_key"])
    new = {pk: profile for pk, profile in profiles.items() if pk not in pending and profile}
    HeldChange.objects.bulk_create(
        [
            HeldChange(
                organization_id=organization_id,
                person_id=pk,
                kind=ChangeKind.UPDATE,
                reason=HoldReason.RECONNECTION_REVIEW,
                run_id=run_id,
                evidence=describe(profile, names),
                evidence_key=current[pk].name,
                profile=profile,
            )
            for pk, profile in new.items()
        ],
        ignore_conflicts=True,
    )
    kind, reason = str(ChangeKind.UPDATE), str(HoldReason.RECONNECTION_REVIEW)
    rows = [(current[pk].email, {"kind": kind, "reason": reason, "profile": p}) for pk, p in new.items()]
    if rows:
        writes._audit(Organization(pk=organization_id), "provisioning.held", rows)
    log.write(
        RunAction.HELD,
        (
            (
                pk,
                "",
                current[pk].name,
                current[pk].email,
                {
                    "kind": ChangeKind.UPDATE.label,
                    "reason": HoldReason.RECONNECTION_REVIEW.label,
                    "evidence": describe(p, names),
                },
            )
            for pk, p in new.items()
        ),
        run_id=run_id,
    )


def _manager_names(profiles: Any) -> dict[int, str]:
    ids = {pk for profile in profiles for pk in profile.get("manager", []) if pk}
    return {p.pk: p.name for p in Person.objects.filter(pk__any_of=list(ids))} if ids else {}


def describe(profile: Profile, managers: dict[int, str]) -> str:
    """What the review queue shows: each field from its last applied value to the held one."""

    def shown(name: str, value: Any) -> str:
        if name == "manager":
            return managers.get(value, "nobody") if value else "nobody"
        return value or "—"

    parts = [
        f"{LABELS.get(name, 'Manager')}: {shown(name, old)} → {shown(name, new)}"
        for name, (old, new) in profile.items()
    ]
    return "; ".join(parts)[:255]


def waiting(change: HeldChange) -> bool:
    """Whether a held profile still has something to apply: a field the source changed again since was
    applied as usual, and is no longer this change's to apply."""
    person = change.person
    return any(
        getattr(person, _attname(name)) == old != new for name, (old, new) in (change.profile or {}).items()
    )


def apply_held(change: HeldChange, *, actor_id: int) -> None:
    """Applies an approved profile: each field still at the value the change was held from."""
    person, applied = change.person, {}
    for name, (old, new) in (change.profile or {}).items():
        if getattr(person, _attname(name)) == old:
            setattr(person, _attname(name), new)
            applied[name] = {"before": old, "after": new}
    if applied:
        person.save(update_fields=[*applied, "updated_at"])
        record(
            organization_id=change.organization_id,
            actor_id=actor_id,
            action="person.profile_updated",
            target=person.work_email,
            changes=applied,
        )

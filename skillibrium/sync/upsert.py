"""Write one page of mapped records into the directory: only what changed, in a handful of queries."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.core.bulk import insert_rows, update_rows
from skillibrium.directory.models import EmploymentStatus, GroupKind, Person, SourceIdentity
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration
from skillibrium.provisioning.profiles import hold_profile_changes

from . import log
from .mapping import PERSON_FIELDS, Mapped
from .models import RunAction
from .resolve import NAMED, Groups, named

IDENTITY_FIELDS = [
    "remote_id",
    "modified_at",
    "digest",
    "manager_merge_id",
    "team_merge_id",
    "group_merge_ids",
    "location_merge_id",
    "seen_in_run",
]


# Given the columns of people about to be created: for those it has provisioned (by position), the user to
# write with each, if any; the others are provisioned once written (PageResult.people).
type UsersForNewPeople = Callable[[list[Mapping[str, Any]]], dict[int, int | None]]


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    people: list[int] = field(default_factory=list)  # whom the page created or changed, left to provision
    # The identities of the records that had not changed: written nothing, so a full read marks them seen.
    unchanged_identities: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Known:
    identity_id: int
    digest: str
    person_id: int
    source_category: str
    superseded: bool

    def speaks_for_person(self, integration: Integration) -> bool:
        """Whether this record's values are the person's: from their current employment, and from the HRIS
        when the HRIS knows them too."""
        authoritative = integration.category == Category.HRIS
        return not self.superseded and (authoritative or self.source_category == integration.category)


def _identity_values(row: Mapped, digest: str, run_id: int) -> tuple[Any, ...]:
    """The identity's columns, in the order of IDENTITY_FIELDS."""
    return (
        row.remote_id,
        row.modified_at,
        digest,
        row.manager,
        row.team,
        list(row.groups),
        row.location,
        run_id,
    )


@dataclass(frozen=True, slots=True)
class _Columns:
    """The person's columns a page writes. With the account's teams, groups and locations known, their names
    are written with the rest (so that provisioning can filter on them before the run ends), and so is the
    manager when already in the directory; a manager not there yet is resolved after the last page."""

    names: Groups | None
    managers: dict[str, int]

    @property
    def fields(self) -> list[str]:
        return [*PERSON_FIELDS, *NAMED, "manager"] if self.names is not None else list(PERSON_FIELDS)

    def values(self, row: Mapped) -> tuple[Any, ...]:
        values = tuple(row.person[name] for name in PERSON_FIELDS)
        if self.names is None:
            return values
        names = named(self.names, row.team, row.groups, row.location)
        return (*values, *names, self.managers.get(row.manager))

    def names_known(self, row: Mapped) -> bool:
        """Whether every team, group and location the record refers to was in the account's lists."""
        if self.names is None:
            return True
        refs = [(GroupKind.TEAM, row.team), (GroupKind.LOCATION, row.location)]
        refs += [(GroupKind.GROUP, group) for group in row.groups]
        return all((kind, merge_id) in self.names for kind, merge_id in refs if merge_id)

    @classmethod
    def of(cls, integration: Integration, rows: list[Mapped], names: Groups | None) -> "_Columns":
        if names is None:
            return cls(None, {})
        wanted = list({r.manager for r in rows if r.manager})
        found = SourceIdentity.objects.filter(integration=integration, merge_id__any_of=wanted)
        return cls(names, dict(found.values_list("merge_id", "person_id")))


def _rekey(integration: Integration, rows: list[Mapped]) -> None:
    """After a relink to another linked account, the same provider records come with new Merge ids: move
    each identity to its new id (matched by remote id), so people keep their records and nobody doubles."""
    by_remote = {r.remote_id: r.merge_id for r in rows if r.remote_id}
    stale = (
        SourceIdentity.objects.filter(integration=integration, remote_id__any_of=list(by_remote))
        .exclude(merge_id__any_of=list(by_remote.values()))
        .values_list("pk", "remote_id")
    )
    # An empty digest makes the page treat the record as changed, so every field is rewritten.
    update_rows(SourceIdentity, ["merge_id", "digest"], [(pk, by_remote[rid], "") for pk, rid in stale])


def upsert_page(
    integration: Integration,
    rows: list[Mapped],
    *,
    run_id: int,
    names: Groups | None = None,
    users_for: UsersForNewPeople | None = None,
    hold_profiles: bool = False,
) -> PageResult:
    """`hold_profiles`: the organization reviews what follows a break, so profile changes of its users are
    held (provisioning/profiles.py) instead of written."""
    if integration.rekey_from_account:
        _rekey(integration, rows)
    digests = {r.merge_id: r.digest for r in rows}
    known = {
        merge_id: _Known(pk, digest, person_id, category, superseded)
        for merge_id, pk, digest, person_id, category, superseded in SourceIdentity.objects.filter(
            integration=integration, merge_id__any_of=list(digests)
        ).values_list("merge_id", "pk", "digest", "person_id", "person__source_category", "superseded")
    }
    fresh = [r for r in rows if r.merge_id not in known]
    changed = [r for r in rows if r.merge_id in known and known[r.merge_id].digest != digests[r.merge_id]]
    result = PageResult(updated=len(changed), unchanged=len(rows) - len(fresh) - len(changed))
    result.unchanged_identities = [
        known[r.merge_id].identity_id
        for r in rows
        if r.merge_id in known and known[r.merge_id].digest == digests[r.merge_id]
    ]
    now = timezone.now()
    columns = _Columns.of(integration, [*fresh, *changed], names)
    for row in [*fresh, *changed]:
        if not columns.names_known(row):
            # A group created after this run fetched the lists: no digest, so that the next time the record
            # is read (Merge still mid-sync holds the watermark back) its names are written, not skipped.
            digests[row.merge_id] = ""
    people = [
        (known[r.merge_id].person_id, *columns.values(r), now)
        for r in changed
        if known[r.merge_id].speaks_for_person(integration)
    ]
    identities = [
        (known[r.merge_id].identity_id, *_identity_values(r, digests[r.merge_id], run_id)) for r in changed
    ]
    with transaction.atomic():
        if hold_profiles:
            people = hold_profile_changes(integration.organization_id, columns.fields, people, run_id=run_id)
        changes = _ChangeLog.read(columns.fields, people)
        update_rows(Person, [*columns.fields, "updated_at"], people)
        changes.write(integration, changed, known, run_id=run_id)
        update_rows(SourceIdentity, IDENTITY_FIELDS, identities)
        result.created, attached = _attach_fresh(
            integration,
            fresh,
            digests,
            columns,
            run_id=run_id,
            users_for=users_for,
            hold_profiles=hold_profiles,
        )
    result.people = [
        known[r.merge_id].person_id for r in changed if known[r.merge_id].speaks_for_person(integration)
    ] + attached
    return result


@dataclass(frozen=True, slots=True)
class _ChangeLog:
    """What a page changes on people, field by field (old -> new), for the run's log: the values before the
    write, read in one query for the people whose record changed (none when nothing did)."""

    fields: list[str]
    before: dict[int, tuple[Any, ...]]
    after: dict[int, tuple[Any, ...]]

    @classmethod
    def read(cls, fields: list[str], people: list[tuple[Any, ...]]) -> "_ChangeLog":
        after = {row[0]: tuple(row[1 : len(fields) + 1]) for row in people}
        names = ["manager_id" if name == "manager" else name for name in fields]
        found = Person.objects.filter(pk__any_of=list(after)).values_list("pk", *names) if after else []
        return cls(fields, {pk: tuple(values) for pk, *values in found}, after)

    def write(
        self, integration: Integration, changed: list[Mapped], known: dict[str, _Known], *, run_id: int
    ) -> None:
        entries: list[log.Entry] = []
        for row in changed:
            person_id, values = known[row.merge_id].person_id, row.person
            details: dict[str, Any]
            if person_id in self.after and person_id in self.before:
                details = {
                    "fields": log.changed_fields(self.fields, self.before[person_id], self.after[person_id])
                }
            else:
                source = integration.category.upper()
                details = {"note": f"not written: their values come from another {source} record or source"}
            name = log.full_name(values["first_name"], values["last_name"])
            entries.append((person_id, row.merge_id, name, values["work_email"], details))
        log.write(RunAction.UPDATED, entries, run_id=run_id)


@dataclass(frozen=True, slots=True)
class _SameEmail:
    person_id: int
    source_category: str
    live_here: bool  # a current (not terminated, not deleted) record of this very integration
    name: tuple[str, str] = ("", "")

    def is_former_self(self, row: Mapped) -> bool:
        """A new record of this source is the same human come back (a rehire under a new id) when it has
        their name too: an address handed on to a new hire never brings them the former holder's account."""
        return _name_of(row.person["first_name"], row.person["last_name"]) == self.name


def _full_name(row: Mapped) -> str:
    return log.full_name(row.person["first_name"], row.person["last_name"])


def _name_of(first: str, last: str) -> tuple[str, str]:
    return first.strip().casefold(), last.strip().casefold()


def _same_email(integration: Integration, rows: list[Mapped]) -> dict[str, _SameEmail]:
    """People of the organization by (lower-cased) work email."""
    emails = {r.person["work_email"] for r in rows if r.person["work_email"]}
    if not emails:
        return {}
    here = SourceIdentity.objects.filter(person=OuterRef("pk"), integration=integration, superseded=False)
    found = (
        Person.objects.filter(organization_id=integration.organization_id)
        .annotate(email_key=Lower("work_email"), here=Exists(here))
        .filter(email_key__any_of=emails)
        .order_by()
        .values_list(
            "email_key",
            "pk",
            "source_category",
            "here",
            "employment_status",
            "remote_was_deleted",
            "first_name",
            "last_name",
        )
    )
    matches: dict[str, _SameEmail] = {}
    # Of several people with one email, the one with a current record here, then the first.
    for email, pk, category, known_here, status, deleted, first, last in sorted(found, key=lambda f: f[1]):
        live = known_here and status != EmploymentStatus.INACTIVE and not deleted
        if email not in matches or (live and not matches[email].live_here):
            matches[email] = _SameEmail(pk, category, live, _name_of(first, last))
    return matches


def _attach_fresh(
    integration: Integration,
    rows: list[Mapped],
    digests: dict[str, str],
    columns: _Columns,
    *,
    run_id: int,
    users_for: UsersForNewPeople | None,
    hold_profiles: bool,
) -> tuple[int, list[int]]:
    """A new record joins the person of the same email when it is the same human: someone from another
    source, or a former record of this one (a rehire under a new id). Two current records of one source that
    share an email are two people: one of them carries a data error, and neither takes the other's place.
    Returns how many people it created and the people the rows belong to that provisioning has yet to see
    (all but the new people `users_for` provisioned)."""
    if not rows:
        return 0, []
    same_email = _same_email(integration, rows)
    authoritative = integration.category == Category.HRIS
    owners: list[int | None] = []
    new_people, taken_over, rehired = [], [], []
    joined: list[log.Entry] = []
    now = timezone.now()
    for row in rows:
        email = row.person["work_email"]
        match = same_email.get(email) if email else None
        former_here = match is not None and match.source_category == integration.category
        if match is None or match.live_here or (former_here and not match.is_former_self(row)):
            owners.append(None)
            new_people.append((integration.organization_id, integration.category, *columns.values(row)))
            continue
        if former_here or (authoritative and match.source_category != Category.HRIS):
            taken_over.append((match.person_id, *columns.values(row), integration.category, now))
            same_email[email] = _SameEmail(match.person_id, integration.category, True, match.name)
            if former_here:
                rehired.append((match.person_id, row.merge_id))
            note = "rehired under a new id" if former_here else f"now from the {integration.category.upper()}"
            joined.append((match.person_id, row.merge_id, _full_name(row), email, {"note": note}))
        owners.append(match.person_id)
    users: dict[int, int | None] = {}
    if users_for is not None and new_people:
        fields = ["source_category", *columns.fields]
        users = users_for([dict(zip(fields, p[1:], strict=True)) for p in new_people])
    created_ids = insert_rows(
        Person,
        ["organization", "source_category", *columns.fields, "user"],
        ((*person, users.get(i)) for i, person in enumerate(new_people)),
    )
    if hold_profiles:
        taken_over = hold_profile_changes(
            integration.organization_id, columns.fields, taken_over, run_id=run_id
        )
    update_rows(Person, [*columns.fields, "source_category", "updated_at"], taken_over)
    created = iter(created_ids)
    people = [owner if owner is not None else next(created) for owner in owners]
    provisioned = {created_ids[i] for i in users}
    with_user = {created_ids[i] for i, user in users.items() if user is not None}
    log.write(
        RunAction.CREATED,
        (
            (
                person,
                row.merge_id,
                _full_name(row),
                row.person["work_email"],
                {"user": "created"} if person in with_user else {},
            )
            for row, person, owner in zip(rows, people, owners, strict=True)
            if owner is None
        ),
        run_id=run_id,
    )
    log.write(RunAction.UPDATED, joined, run_id=run_id)
    insert_rows(
        SourceIdentity,
        ["integration", "person", "merge_id", *IDENTITY_FIELDS],
        (
            (integration.pk, person, row.merge_id, *_identity_values(row, digests[row.merge_id], run_id))
            for row, person in zip(rows, people, strict=True)
        ),
    )
    _supersede(integration, rehired)
    return len(new_people), [p for p in people if p not in provisioned]


def _supersede(integration: Integration, rehired: list[tuple[int, str]]) -> None:
    """A rehire's former records of this source no longer decide anything about them (status, deletion)."""
    if not rehired:
        return
    SourceIdentity.objects.filter(
        integration=integration, person_id__in=[person for person, _ in rehired]
    ).exclude(merge_id__in=[merge_id for _, merge_id in rehired]).update(superseded=True)

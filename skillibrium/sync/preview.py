"""What switching to a replacement would do (integrations/switch.py): every current record of the new linked
account read, and compared with the directory's people. Nothing is written to the directory.

A record is a person of the directory by work email, then by employee number where both sources have one;
the new source's other records are new people; the people the current source lists that the new one does not
are kept as they are after the switch (absence is no evidence of leaving).
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.core.bulk import insert_rows
from skillibrium.directory.models import EmploymentStatus, Person, SourceIdentity
from skillibrium.integrations.health import for_admins
from skillibrium.integrations.models import Replacement, ReplacementMatch, ReplacementState
from skillibrium.merge_client import MergeError

from . import mapping
from .read import SOURCES, mapped_pages

EXAMPLES = 50  # names listed per kind; the rest are counted
COUNTS = ("records", "matched", "new", "only_in_old", "leaving", "duplicates", "without_email", "elsewhere")


@dataclass(frozen=True, slots=True)
class _Record:
    merge_id: str
    remote_id: str
    email: str
    number: str
    name: str
    active: bool

    @classmethod
    def of(cls, row: mapping.Mapped) -> "_Record":
        person = row.person
        name = person["display_name"] or f"{person['first_name']} {person['last_name']}".strip()
        return cls(
            merge_id=row.merge_id,
            remote_id=row.remote_id,
            email=person["work_email"],
            number=person["employee_number"],
            name=name or person["work_email"] or f"Record {row.merge_id}",
            active=person["employment_status"] == EmploymentStatus.ACTIVE,
        )


@dataclass(frozen=True, slots=True)
class _Person:
    pk: int
    email: str
    number: str
    name: str
    has_access: bool  # an active user

    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


def read_replacement(replacement_id: int) -> str:
    """Read the replacement's account and store what switching would do. Returns the state it ends in."""
    replacement = (
        Replacement.objects.select_related("integration__organization")
        .filter(pk=replacement_id, state=ReplacementState.READING)
        .first()
    )
    if replacement is None:
        return "gone"  # declined, confirmed or read meanwhile
    path, _, _, to_mapped = SOURCES[replacement.integration.category]
    records: list[_Record] = []
    unreadable = 0
    try:
        with replacement.client() as client:
            for page in mapped_pages(client.pages(path, {}), to_mapped):
                unreadable += len(page.rejected)
                records += [_Record.of(row) for row in page.rows if not row.person["remote_was_deleted"]]
    except MergeError as error:
        Replacement.objects.filter(pk=replacement.pk, state=ReplacementState.READING).update(
            state=ReplacementState.FAILED, error=for_admins(error)
        )
        return ReplacementState.FAILED
    summary, matches = compare(replacement, records)
    summary["unreadable"] = unreadable
    with transaction.atomic():
        if not Replacement.objects.filter(pk=replacement.pk, state=ReplacementState.READING).update(
            state=ReplacementState.READY, summary=summary, summary_at=timezone.now(), error=""
        ):
            return "gone"
        ReplacementMatch.objects.filter(replacement=replacement).delete()
        insert_rows(ReplacementMatch, ["replacement", "person", "merge_id", "remote_id", "by"], matches)
    return ReplacementState.READY


def compare(
    replacement: Replacement, records: list[_Record]
) -> tuple[dict[str, Any], list[tuple[int, int, str, str, str]]]:
    """The summary, and the matches (rows of ReplacementMatch). A handful of queries, whatever the size."""
    integration = replacement.integration
    people = _people(integration.organization_id)
    current = set(
        SourceIdentity.objects.filter(integration=integration, superseded=False).values_list(
            "person_id", flat=True
        )
    )
    by_email: dict[str, _Person] = {}
    for someone in sorted(people, key=lambda p: (p.pk not in current, p.pk)):
        if someone.email:
            by_email.setdefault(someone.email, someone)  # of two with one email, the current source's
    numbers = Counter(p.number for p in people if p.number)
    by_number = {p.number: p for p in people if p.number and numbers[p.number] == 1}
    emails = Counter(r.email for r in records if r.email)

    taken: dict[int, tuple[_Record, str]] = {}  # person -> the record that is theirs, and by what
    unmatched: list[_Record] = []
    for r in records:
        person: _Person | None = by_email.get(r.email) if r.email else None
        if person is not None and person.pk not in taken:
            taken[person.pk] = (r, "work email")
        else:
            unmatched.append(r)
    new: list[_Record] = []
    for r in unmatched:
        person = by_number.get(r.number) if r.number else None
        if person is not None and person.pk not in taken:
            taken[person.pk] = (r, "employee number")
        else:
            new.append(r)

    known = {p.pk: p for p in people}
    matched_examples = [
        _matched_label(known[pk], r, by) for pk, (r, by) in sorted(taken.items(), key=lambda t: t[1][0].name)
    ]
    only_in_old = sorted((known[pk] for pk in current - taken.keys()), key=lambda p: p.name)
    leaving = sorted(
        (known[pk] for pk, (r, _) in taken.items() if not r.active and known[pk].has_access),
        key=lambda p: p.name,
    )
    with_email = [r for r in new if r.email]
    elsewhere = _elsewhere(integration.organization_id, [r.email for r in with_email])
    duplicates = sorted(e for e, n in emails.items() if n > 1)
    without_email = [r for r in new if not r.email]
    by = Counter(how for _, how in taken.values())
    summary: dict[str, Any] = {
        "records": len(records),
        "matched": len(taken),
        "matched_by": {"work email": by["work email"], "employee number": by["employee number"]},
        "matched_examples": matched_examples[:EXAMPLES],
        "new": len(new),
        "new_active": sum(r.active for r in new),
        "new_examples": [_record_label(r) for r in sorted(new, key=lambda r: r.name)[:EXAMPLES]],
        "only_in_old": len(only_in_old),
        "only_in_old_examples": [p.label() for p in only_in_old[:EXAMPLES]],
        "leaving": len(leaving),
        "leaving_examples": [p.label() for p in leaving[:EXAMPLES]],
        "duplicates": len(duplicates),
        "duplicates_examples": [f"{e} ({emails[e]} records)" for e in duplicates[:EXAMPLES]],
        "without_email": len(without_email),
        "without_email_examples": [r.name for r in without_email[:EXAMPLES]],
        "elsewhere": len(elsewhere),
        "elsewhere_examples": elsewhere[:EXAMPLES],
    }
    matches = [(replacement.pk, pk, r.merge_id, r.remote_id, how) for pk, (r, how) in sorted(taken.items())]
    return summary, matches


def _people(organization_id: int) -> list[_Person]:
    rows = (
        Person.objects.filter(organization_id=organization_id)
        .annotate(email_key=Lower("work_email"))
        .order_by()
        .values_list(
            "pk", "email_key", "employee_number", "display_name", "first_name", "last_name", "user__is_active"
        )
    )
    return [
        _Person(pk, email, number, display or f"{first} {last}".strip() or email, bool(active))
        for pk, email, number, display, first, last, active in rows
    ]


def _elsewhere(organization_id: int, emails: list[str]) -> list[str]:
    """Of the new people's addresses, those that belong to a user of another organization: no user is
    created for them (the planner sends each to the review queue)."""
    if not emails:
        return []
    found = (
        User.objects.annotate(email_key=Lower("email"))
        .filter(email_key__any_of=emails)
        .exclude(membership__organization_id=organization_id)
        .order_by("email_key")
        .values_list("email_key", flat=True)
    )
    return list(found.distinct())


def _matched_label(person: _Person, record: _Record, by: str) -> str:
    if by == "work email":
        return person.label()
    was = f"; was {person.email}" if person.email and person.email != record.email else ""
    return f"{person.name} <{record.email or 'no work email'}> by employee number {record.number}{was}"


def _record_label(record: _Record) -> str:
    return f"{record.name} <{record.email}>" if record.email else record.name

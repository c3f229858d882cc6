"""Write one page of mapped records into the directory: only what changed, in a handful of queries."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models.functions import Lower

from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration

from .mapping import PERSON_FIELDS, Mapped

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


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _identity_values(row: Mapped, run_id: int) -> dict[str, object]:
    return {
        "remote_id": row.remote_id,
        "modified_at": row.modified_at,
        "digest": row.digest,
        "manager_merge_id": row.manager,
        "team_merge_id": row.team,
        "group_merge_ids": list(row.groups),
        "location_merge_id": row.location,
        "seen_in_run": run_id,
    }


def upsert_page(integration: Integration, rows: list[Mapped], *, run_id: int) -> PageResult:
    result = PageResult()
    known = {
        i.merge_id: i
        for i in SourceIdentity.objects.filter(
            integration=integration, merge_id__in=[r.merge_id for r in rows]
        ).select_related("person")
    }
    fresh = [r for r in rows if r.merge_id not in known]
    changed = [r for r in rows if r.merge_id in known and known[r.merge_id].digest != r.digest]
    result.unchanged = len(rows) - len(fresh) - len(changed)
    authoritative = integration.category == Category.HRIS
    people, identities = [], []
    for row in changed:
        identity = known[row.merge_id]
        for name, value in _identity_values(row, run_id).items():
            setattr(identity, name, value)
        identities.append(identity)
        if authoritative or identity.person.source_category == integration.category:
            for name in PERSON_FIELDS:
                setattr(identity.person, name, row.person[name])
            people.append(identity.person)
    result.updated = len(changed)
    with transaction.atomic():
        Person.objects.bulk_update(people, [*PERSON_FIELDS, "updated_at"])
        SourceIdentity.objects.bulk_update(identities, IDENTITY_FIELDS)
        result.created = _attach_fresh(integration, fresh, run_id=run_id)
    return result


def _attach_fresh(integration: Integration, rows: list[Mapped], *, run_id: int) -> int:
    """New records join the person of the same email (another source, or a former HRIS), or a new person."""
    if not rows:
        return 0
    emails = {r.person["work_email"] for r in rows if r.person["work_email"]}
    same_email = {
        p.work_email.lower(): p
        for p in Person.objects.filter(organization_id=integration.organization_id)
        .annotate(email_key=Lower("work_email"))
        .filter(email_key__in=emails)
    }
    authoritative = integration.category == Category.HRIS
    new_people, taken_over = [], []
    owners: list[Person] = []
    for row in rows:
        person = same_email.get(row.person["work_email"]) if row.person["work_email"] else None
        if person is None:
            person = Person(
                organization_id=integration.organization_id,
                source_category=integration.category,
                **row.person,
            )
            new_people.append(person)
        elif authoritative and person.source_category != Category.HRIS:
            person.source_category = Category.HRIS
            for name in PERSON_FIELDS:
                setattr(person, name, row.person[name])
            taken_over.append(person)
        owners.append(person)
    Person.objects.bulk_create(new_people)
    Person.objects.bulk_update(taken_over, [*PERSON_FIELDS, "source_category", "updated_at"])
    SourceIdentity.objects.bulk_create(
        SourceIdentity(
            integration=integration, person=person, merge_id=row.merge_id, **_identity_values(row, run_id)
        )
        for row, person in zip(rows, owners, strict=True)
    )
    return len(new_people)

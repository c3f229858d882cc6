"""After the pages: turn Merge ids of managers, teams, groups and locations into the directory's values."""

from collections.abc import Sequence
from typing import Any

from django.db.models import OuterRef, Q

from skillibrium.core.bulk import update_rows
from skillibrium.directory.models import DirectoryGroup, GroupKind, Person, SourceIdentity
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeClient
from skillibrium.provisioning.profiles import hold_profile_changes, pending_profile

LOOKUPS = {GroupKind.TEAM: "teams", GroupKind.GROUP: "groups", GroupKind.LOCATION: "locations"}
CHUNK = 5000
NAMED = ("team", "department", "location")
RESOLVED = [*NAMED, "manager"]

type Groups = dict[tuple[str, str], tuple[str, str]]


def refresh_groups(client: MergeClient, integration: Integration) -> None:
    """Teams, groups and locations are small lists; fetch them whole on each run that saw changes."""
    for kind, path in LOOKUPS.items():
        rows = {
            str(r["id"]): DirectoryGroup(
                integration=integration,
                kind=kind,
                merge_id=str(r["id"]),
                name=str(r.get("name") or "")[:255],
                group_type=str(r.get("type") or "")[:32],
            )
            for page in client.pages(path, {"include_deleted_data": "false"})
            for r in page
            if isinstance(r, dict) and r.get("id")
        }
        DirectoryGroup.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["integration", "kind", "merge_id"],
            update_fields=["name", "group_type"],
        )


def group_names(integration: Integration) -> Groups:
    """(kind, merge id) -> (name, group type) for every team, group and location of the linked account."""
    rows = DirectoryGroup.objects.filter(integration=integration).values_list(
        "kind", "merge_id", "name", "group_type"
    )
    return {(kind, merge_id): (name, group_type) for kind, merge_id, name, group_type in rows}


def _department(groups: Groups, merge_ids: Sequence[str]) -> str:
    found = [groups[(GroupKind.GROUP, m)] for m in merge_ids if (GroupKind.GROUP, m) in groups]
    departments = [name for name, group_type in found if group_type == "DEPARTMENT"]
    return (departments or [name for name, _ in found] or [""])[0]


def _name(groups: Groups, kind: GroupKind, merge_id: str) -> str:
    found = groups.get((kind, merge_id))
    return found[0] if found else ""


def named(groups: Groups, team: str, group_ids: Sequence[str], location: str) -> tuple[str, str, str]:
    """Team, department and location names of a record, in the order of NAMED."""
    return (
        _name(groups, GroupKind.TEAM, team),
        _department(groups, group_ids),
        _name(groups, GroupKind.LOCATION, location),
    )


COLUMNS = (
    "pk",
    "person_id",
    "team_merge_id",
    "group_merge_ids",
    "location_merge_id",
    "manager_merge_id",
    "person__source_category",
    "person__team",
    "person__department",
    "person__location",
    "person__manager_id",
)


def resolve_references(
    integration: Integration, *, hold_profiles: bool = False, run_id: int | None = None
) -> int:
    """Resolve the managers that were not in the directory yet when their reports' pages were written.
    `hold_profiles`: the changes this makes to users' profiles are held (provisioning/profiles.py); a held
    profile is resolved again, since its manager may have arrived after its page."""
    if integration.category != "hris":
        return 0
    groups = group_names(integration)
    unresolved = Q(person__manager__isnull=True)
    if hold_profiles:
        unresolved |= Q(pending_profile(OuterRef("person")))
    identities = SourceIdentity.objects.filter(integration=integration, superseded=False).filter(
        unresolved & ~Q(manager_merge_id="")
    )
    changed_total, last_pk = 0, 0
    while True:
        chunk = list(identities.filter(pk__gt=last_pk).order_by("pk").values_list(*COLUMNS)[:CHUNK])
        if not chunk:
            return changed_total
        last_pk = chunk[-1][0]
        changed_total += _resolve_chunk(
            integration, groups, chunk, hold_profiles=hold_profiles, run_id=run_id
        )


def _resolve_chunk(
    integration: Integration,
    groups: Groups,
    chunk: list[tuple[Any, ...]],
    *,
    hold_profiles: bool,
    run_id: int | None,
) -> int:
    managers = dict(
        SourceIdentity.objects.filter(
            integration=integration, merge_id__any_of={row[5] for row in chunk if row[5]}
        ).values_list("merge_id", "person_id")
    )
    changed: dict[int, tuple[Any, ...]] = {}
    for _, person_id, team, group_ids, location, manager, category, *current in chunk:
        values = (*named(groups, team, group_ids, location), managers.get(manager))
        if category == integration.category and values != tuple(current):
            # A person known by two of the account's records takes the first one's values.
            changed.setdefault(person_id, (person_id, *values))
    rows = list(changed.values())
    if hold_profiles:
        rows = hold_profile_changes(integration.organization_id, RESOLVED, rows, run_id=run_id)
    return update_rows(Person, RESOLVED, rows)

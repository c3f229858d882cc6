"""After the pages: turn Merge ids of managers, teams, groups and locations into the directory's values."""

from django.db.models import Q

from skillibrium.directory.models import DirectoryGroup, GroupKind, Person, SourceIdentity
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeClient

LOOKUPS = {GroupKind.TEAM: "teams", GroupKind.GROUP: "groups", GroupKind.LOCATION: "locations"}
CHUNK = 2000


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


def _names(integration: Integration) -> dict[tuple[str, str], DirectoryGroup]:
    return {(g.kind, g.merge_id): g for g in DirectoryGroup.objects.filter(integration=integration)}


def _department(groups: dict[tuple[str, str], DirectoryGroup], merge_ids: list[str]) -> str:
    found = [groups[(GroupKind.GROUP, m)] for m in merge_ids if (GroupKind.GROUP, m) in groups]
    departments = [g.name for g in found if g.group_type == "DEPARTMENT"]
    return (departments or [g.name for g in found] or [""])[0]


def resolve_references(integration: Integration, *, run_id: int) -> int:
    """Resolve the identities this run touched, and any whose manager was unknown until now."""
    groups = _names(integration)
    identities = SourceIdentity.objects.filter(integration=integration).filter(
        Q(seen_in_run=run_id) | (Q(person__manager__isnull=True) & ~Q(manager_merge_id=""))
    )
    if integration.category != "hris":
        return 0
    changed_total, last_pk = 0, 0
    while True:
        chunk = list(identities.filter(pk__gt=last_pk).select_related("person").order_by("pk")[:CHUNK])
        if not chunk:
            return changed_total
        last_pk = chunk[-1].pk
        managers = dict(
            SourceIdentity.objects.filter(
                integration=integration,
                merge_id__in={i.manager_merge_id for i in chunk if i.manager_merge_id},
            ).values_list("merge_id", "person_id")
        )
        changed: list[Person] = []
        for identity in chunk:
            person = identity.person
            values = {
                "team": groups[(GroupKind.TEAM, identity.team_merge_id)].name
                if (GroupKind.TEAM, identity.team_merge_id) in groups
                else "",
                "department": _department(groups, identity.group_merge_ids),
                "location": groups[(GroupKind.LOCATION, identity.location_merge_id)].name
                if (GroupKind.LOCATION, identity.location_merge_id) in groups
                else "",
                "manager_id": managers.get(identity.manager_merge_id),
            }
            if person.source_category == integration.category and any(
                getattr(person, k) != v for k, v in values.items()
            ):
                for name, value in values.items():
                    setattr(person, name, value)
                changed.append(person)
        Person.objects.bulk_update(changed, ["team", "department", "location", "manager"])
        changed_total += len(changed)

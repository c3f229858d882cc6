"""Writing mapped records into the directory, without a sandbox: what a page costs and what it keeps."""

import pytest

from skillibrium.directory.models import GroupKind, Person
from skillibrium.sync import mapping
from skillibrium.sync.models import RunAction, RunEntry, SyncRun
from skillibrium.sync.upsert import upsert_page

from .factories import make_integration, make_org

pytestmark = pytest.mark.django_db

RECORD = {
    "id": "employee-1",
    "remote_id": "W-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "work_email": "ada@upsert.example",
    "groups": ["group-research"],
    "employment_status": "ACTIVE",
    "modified_at": "2026-11-01T09:00:00Z",
}
RESEARCH = {(GroupKind.GROUP, "group-research"): ("Research", "DEPARTMENT")}


def test_a_record_written_before_its_group_was_listed_gets_the_name_when_read_again() -> None:
    """Merge can write a new group and its first member between a run's fetch of the groups and of the
    employees; the next run reads the member again (the watermark waits for Merge's sync) and names it."""
    integration = make_integration(make_org())
    runs = [SyncRun.objects.create(integration=integration, trigger="schedule") for _ in range(3)]

    first = upsert_page(integration, [mapping.employee(RECORD)], run_id=runs[0].pk, names={})
    person = Person.objects.get(organization=integration.organization)
    assert (first.created, person.department) == (1, "")

    again = upsert_page(integration, [mapping.employee(RECORD)], run_id=runs[1].pk, names=RESEARCH)
    person.refresh_from_db()
    assert (again.updated, person.department) == (1, "Research")

    settled = upsert_page(integration, [mapping.employee(RECORD)], run_id=runs[2].pk, names=RESEARCH)
    assert (settled.updated, settled.unchanged) == (0, 1)
    logged = [(e.run_id, e.person_id, e.action, e.details) for e in RunEntry.objects.order_by("pk")]
    assert logged == [
        (runs[0].pk, person.pk, RunAction.CREATED, {}),
        (runs[1].pk, person.pk, RunAction.UPDATED, {"fields": {"department": ["", "Research"]}}),
    ]

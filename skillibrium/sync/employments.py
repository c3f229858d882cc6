"""Job title and employment type live on Merge's Employment: a change there does not touch the Employee.

A full sync gets them through `expand=employments`; an incremental sync also asks for the employments that
changed, and applies each employee's latest one."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.models import Integration

from . import log
from .mapping import EMPLOYMENT_TYPES
from .models import RunAction


def apply_employment_changes(
    integration: Integration, page: list[dict[str, Any]], *, run_id: int
) -> list[int]:
    """Returns the people it changed."""
    latest: dict[str, dict[str, Any]] = {}
    for employment in page:
        employee = employment.get("employee")
        employee_id = str(employee.get("id") if isinstance(employee, dict) else employee or "")
        if not employee_id or employment.get("remote_was_deleted"):
            continue
        seen = latest.get(employee_id)
        if seen is None or str(employment.get("effective_date") or "") >= str(
            seen.get("effective_date") or ""
        ):
            latest[employee_id] = employment
    identities = SourceIdentity.objects.filter(
        integration=integration, merge_id__in=latest, superseded=False
    ).select_related("person")
    people, touched = [], []
    entries: list[log.Entry] = []
    for identity in identities:
        employment = latest[identity.merge_id]
        title = str(employment.get("job_title") or "")[:255]
        kind = employment.get("employment_type")
        employment_type = kind if kind in EMPLOYMENT_TYPES else ""
        person = identity.person
        before = (person.title, person.employment_type)
        if person.source_category == integration.category and before != (title, employment_type):
            fields = log.changed_fields(["title", "employment_type"], before, (title, employment_type))
            name = log.full_name(person.first_name, person.last_name)
            entries.append((person.pk, identity.merge_id, name, person.work_email, {"fields": fields}))
            person.title, person.employment_type = title, employment_type
            people.append(person)
            identity.seen_in_run = run_id
            touched.append(identity)
    with transaction.atomic():
        Person.objects.bulk_update(people, ["title", "employment_type", "updated_at"])
        SourceIdentity.objects.bulk_update(touched, ["seen_in_run"])
        log.write(RunAction.UPDATED, entries, run_id=run_id)
    return [p.pk for p in people]


def newest_stamp(page: list[dict[str, Any]]) -> dt.datetime | None:
    stamps = [parse_datetime(str(e.get("modified_at") or "")) for e in page]
    return max((s for s in stamps if s), default=None)

"""Turn Merge common-model records into the directory's fields; reject what cannot be used."""

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime

from skillibrium.directory.models import EmploymentStatus
from skillibrium.merge_client import BadRecord

type Record = dict[str, Any]

PERSON_FIELDS = (
    "remote_id",
    "first_name",
    "last_name",
    "display_name",
    "work_email",
    "title",
    "team",
    "manager_merge_id",
    "employment_status",
    "termination_date",
    "remote_was_deleted",
    "source_modified_at",
)


def _text(value: Any, limit: int = 255) -> str:
    return str(value).strip()[:limit] if value not in (None, "") else ""


def _datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise BadRecord(f"unreadable date {value!r}")
    return parsed


def _name_of(value: Any) -> str:
    """An expanded relation is an object with a name; an unexpanded one is only an id."""
    return _text(value.get("name")) if isinstance(value, dict) else ""


def _id_of(value: Any) -> str:
    if isinstance(value, dict):
        return _text(value.get("id"), 64)
    return _text(value, 64)


def _status(value: Any) -> str:
    # Unknown values (schema drift) count as active: absence of evidence never deactivates anyone.
    return value if value in EmploymentStatus.values else EmploymentStatus.ACTIVE


def _job_title(record: Record) -> str:
    employments = record.get("employments") or []
    for employment in employments:
        if isinstance(employment, dict) and employment.get("job_title"):
            return _text(employment["job_title"])
    return ""


def employee_fields(record: Record) -> dict[str, Any]:
    if not record.get("id"):
        raise BadRecord("employee without an id")
    termination = _datetime(record.get("termination_date"))
    return {
        "remote_id": _text(record.get("remote_id")),
        "first_name": _text(record.get("preferred_name") or record.get("first_name"), 150),
        "last_name": _text(record.get("last_name"), 150),
        "display_name": _text(record.get("display_full_name"), 300),
        "work_email": _text(record.get("work_email"), 254).lower(),
        "title": _job_title(record),
        "team": _name_of(record.get("team")),
        "manager_merge_id": _id_of(record.get("manager")),
        "employment_status": _status(record.get("employment_status")),
        "termination_date": termination.date() if termination else None,
        "remote_was_deleted": bool(record.get("remote_was_deleted")),
        "source_modified_at": _datetime(record.get("modified_at")),
    }


def crm_user_fields(record: Record) -> dict[str, Any]:
    if not record.get("id"):
        raise BadRecord("user without an id")
    name = _text(record.get("name"), 300)
    first, _, last = name.partition(" ")
    return {
        "remote_id": _text(record.get("remote_id")),
        "first_name": first[:150],
        "last_name": last[:150],
        "display_name": name,
        "work_email": _text(record.get("email"), 254).lower(),
        "title": "",
        "team": "",
        "manager_merge_id": "",
        "employment_status": EmploymentStatus.ACTIVE
        if record.get("is_active", True)
        else EmploymentStatus.INACTIVE,
        "termination_date": None,
        "remote_was_deleted": bool(record.get("remote_was_deleted")),
        "source_modified_at": _datetime(record.get("modified_at")),
    }

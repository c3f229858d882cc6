"""Turn Merge common-model records into directory fields; reject what cannot be used."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.utils.dateparse import parse_datetime

from skillibrium.directory.models import EmploymentStatus
from skillibrium.merge_client import BadRecord

type Record = dict[str, Any]

PERSON_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "work_email",
    "employee_number",
    "title",
    "employment_type",
    "employment_status",
    "hire_date",
    "start_date",
    "termination_date",
    "remote_was_deleted",
)
EMPLOYMENT_TYPES = {"FULL_TIME", "PART_TIME", "INTERN", "CONTRACTOR", "FREELANCE"}


@dataclass(frozen=True, slots=True)
class Mapped:
    merge_id: str
    remote_id: str
    modified_at: dt.datetime | None
    person: dict[str, Any]
    manager: str = ""
    team: str = ""
    groups: tuple[str, ...] = ()
    location: str = ""
    digest: str = field(init=False)  # of what the directory keeps: an unchanged record costs no write

    def __post_init__(self) -> None:
        data = [self.person, self.manager, self.team, self.groups, self.location, self.remote_id]
        digest = hashlib.blake2b(orjson.dumps(data, default=str), digest_size=16).hexdigest()
        object.__setattr__(self, "digest", digest)


def _text(value: Any, limit: int = 255) -> str:
    return str(value).strip()[:limit] if value not in (None, "") else ""


def _date(value: Any) -> dt.date | None:
    moment = _datetime(value)
    return moment.date() if moment else None


def _datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise BadRecord(f"unreadable date {value!r}")
    return parsed


def _id_of(value: Any) -> str:
    """A relation is a Merge id, or the object itself when expanded."""
    if isinstance(value, dict):
        return _text(value.get("id"), 64)
    return _text(value, 64)


def _status(value: Any) -> str:
    """Kept as sent. A value Skillibrium does not know (schema drift) is not active, so nobody is invited or
    reactivated on it; nor is it leaving evidence, so nobody is deactivated on it (see is_unknown_status)."""
    return _text(value, 16) or EmploymentStatus.ACTIVE


def is_unknown_status(status: str) -> bool:
    return status not in EmploymentStatus.values


def _employment(record: Record) -> Record:
    """The current employment: expanded employments carry the job title and type."""
    employments = [e for e in record.get("employments") or [] if isinstance(e, dict)]
    employments.sort(key=lambda e: str(e.get("effective_date") or ""), reverse=True)
    return employments[0] if employments else {}


def employee(record: Record) -> Mapped:
    if not record.get("id"):
        raise BadRecord("employee without an id")
    employment = _employment(record)
    employment_type = employment.get("employment_type")
    return Mapped(
        merge_id=_text(record["id"], 64),
        remote_id=_text(record.get("remote_id")),
        modified_at=_datetime(record.get("modified_at")),
        person={
            "first_name": _text(record.get("preferred_name") or record.get("first_name"), 150),
            "last_name": _text(record.get("last_name"), 150),
            "display_name": _text(record.get("display_full_name"), 300),
            "work_email": _text(record.get("work_email"), 254).lower(),
            "employee_number": _text(record.get("employee_number"), 64),
            "title": _text(employment.get("job_title")),
            "employment_type": employment_type if employment_type in EMPLOYMENT_TYPES else "",
            "employment_status": _status(record.get("employment_status")),
            "hire_date": _date(record.get("hire_date") or record.get("start_date")),
            "start_date": _date(record.get("start_date")),
            "termination_date": _date(record.get("termination_date")),
            "remote_was_deleted": bool(record.get("remote_was_deleted")),
        },
        manager=_id_of(record.get("manager")),
        team=_id_of(record.get("team")),
        groups=tuple(g for g in (_id_of(g) for g in record.get("groups") or []) if g),
        location=_id_of(record.get("work_location")),
    )


def crm_user(record: Record) -> Mapped:
    if not record.get("id"):
        raise BadRecord("user without an id")
    name = _text(record.get("name"), 300)
    first, _, last = name.partition(" ")
    active = record.get("is_active") is not False
    return Mapped(
        merge_id=_text(record["id"], 64),
        remote_id=_text(record.get("remote_id")),
        modified_at=_datetime(record.get("modified_at")),
        person={
            "first_name": first[:150],
            "last_name": last[:150],
            "display_name": name,
            "work_email": _text(record.get("email"), 254).lower(),
            "employee_number": "",
            "title": "",
            "employment_type": "",
            "employment_status": EmploymentStatus.ACTIVE if active else EmploymentStatus.INACTIVE,
            "hire_date": None,
            "start_date": None,
            "termination_date": None,
            "remote_was_deleted": bool(record.get("remote_was_deleted")),
        },
    )

"""Merge's common models, built from provider records at sync time.

Merge ids are derived from (linked account, model, remote id), so a record can point at its
manager or team before that record has been synced, and a sync never needs a lookup to link them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = uuid.UUID("5b0d7c1e-6a53-4c1f-9a57-3e1f2d8c9b10")
FIELD_MAPPINGS: dict[str, Any] = {"organization_defined_targets": {}, "linked_account_defined_targets": {}}


def merge_id(account_id: str, model: str, remote_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{account_id}/{model}/{remote_id}"))


class Refs:
    """Merge ids for one linked account, cached for the small, often-repeated ones."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self._cache: dict[tuple[str, str], str] = {}

    def __call__(self, model: str, remote_id: str | None) -> str | None:
        if remote_id is None:
            return None
        return merge_id(self.account_id, model, remote_id)

    def cached(self, model: str, remote_id: str | None) -> str | None:
        if remote_id is None:
            return None
        key = (model, remote_id)
        if key not in self._cache:
            self._cache[key] = merge_id(self.account_id, model, remote_id)
        return self._cache[key]


def _date(value: str | None) -> str | None:
    return None if value is None else f"{value}T00:00:00Z"


def _groups(refs: Refs, r: dict[str, Any]) -> list[str]:
    remote_ids = dict.fromkeys(g for g in (r.get("department"), r.get("team")) if g)
    return [g for g in (refs.cached("Group", rid) for rid in remote_ids) if g]


def employee(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    first = r.get("preferred_name") or r["first_name"]
    return {
        "employee_url": None,
        "employee_number": str(r["number"]),
        "company": refs.cached("Company", "C-1"),
        "first_name": r["first_name"],
        "last_name": r["last_name"],
        "preferred_name": r.get("preferred_name"),
        "display_full_name": f"{first} {r['last_name']}",
        "username": r.get("username"),
        "groups": _groups(refs, r),
        "work_email": r.get("work_email"),
        "personal_email": r.get("personal_email"),
        "mobile_phone_number": r.get("mobile_phone"),
        "employments": [refs("Employment", rid)],
        "home_location": None,
        "work_location": refs.cached("Location", r.get("location")),
        "manager": refs("Employee", r.get("manager")),
        "team": refs.cached("Team", r.get("team")),
        "pay_group": None,
        "ssn": None,
        "gender": r.get("gender"),
        "ethnicity": r.get("ethnicity"),
        "marital_status": r.get("marital_status"),
        "date_of_birth": _date(r.get("date_of_birth")),
        "hire_date": _date(r.get("hire_date")),
        "start_date": _date(r.get("start_date")),
        "remote_created_at": r.get("created"),
        "employment_status": r.get("status"),
        "termination_date": _date(r.get("termination_date")),
        "avatar": None,
        "custom_fields": None,
    }


def employment(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "employee": refs("Employee", rid),
        "job_title": r.get("title"),
        "pay_rate": r.get("pay_rate"),
        "pay_period": r.get("pay_period"),
        "pay_frequency": r.get("pay_frequency"),
        "pay_currency": r.get("pay_currency"),
        "pay_group": None,
        "flsa_status": r.get("flsa_status"),
        "effective_date": _date(r.get("hire_date")),
        "employment_type": r.get("employment_type"),
    }


def team(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    return {"name": r["name"], "parent_team": refs.cached("Team", r.get("parent"))}


def group(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    department = bool(r.get("department"))
    return {
        "group_url": None,
        "parent_group": refs.cached("Group", r.get("parent")),
        "name": r["name"],
        "type": "DEPARTMENT" if department else "TEAM",
        "is_commonly_used_as_team": not department,
    }


def location(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": r.get("name"),
        "phone_number": r.get("phone_number"),
        "street_1": r.get("street_1"),
        "street_2": None,
        "city": r.get("city"),
        "state": r.get("state"),
        "zip_code": r.get("zip_code"),
        "country": r.get("country"),
        "location_type": "WORK",
    }


def company(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "legal_name": r.get("legal_name"),
        "display_name": r.get("display_name"),
        "eins": r.get("eins", []),
    }


def crm_user(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{r['first_name']} {r['last_name']}",
        "email": r.get("email"),
        "is_active": r.get("active"),
        "user_url": None,
        "remote_fields": [],
    }


def crm_account(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    stamp = r.get("created")
    address = {
        "created_at": stamp,
        "modified_at": stamp,
        "street_1": r.get("street"),
        "street_2": None,
        "city": r.get("city"),
        "state": r.get("state"),
        "postal_code": r.get("postal_code"),
        "country": r.get("country"),
        "address_type": "BILLING",
    }
    phones = [
        {"created_at": stamp, "modified_at": stamp, "phone_number": r["phone"], "phone_number_type": "WORK"}
    ]
    return {
        "owner": refs("User", r.get("owner")),
        "name": r.get("name"),
        "description": r.get("description"),
        "industry": r.get("industry"),
        "website": r.get("website"),
        "number_of_employees": r.get("employees"),
        "addresses": [address],
        "phone_numbers": phones if r.get("phone") else [],
        "last_activity_at": r.get("last_activity"),
        "remote_updated_at": r.get("last_activity"),
        "remote_created_at": stamp,
        "account_url": None,
        "remote_fields": [],
    }


def crm_contact(refs: Refs, rid: str, r: dict[str, Any]) -> dict[str, Any]:
    stamp = r.get("created")
    return {
        "first_name": r.get("first_name"),
        "last_name": r.get("last_name"),
        "account": refs("Account", r.get("account")),
        "owner": refs("User", r.get("owner")),
        "addresses": [],
        "email_addresses": [
            {
                "created_at": stamp,
                "modified_at": stamp,
                "email_address": r.get("email"),
                "email_address_type": "WORK",
            }
        ],
        "phone_numbers": [
            {
                "created_at": stamp,
                "modified_at": stamp,
                "phone_number": r.get("phone"),
                "phone_number_type": "MOBILE",
            }
        ],
        "last_activity_at": r.get("last_activity"),
        "remote_created_at": stamp,
        "contact_url": None,
        "remote_fields": [],
    }


Builder = Callable[[Refs, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    category: str
    path: str
    kind: str
    build: Builder
    expands: dict[str, str] = field(default_factory=dict)
    webhook_name: str = ""

    @property
    def model_id(self) -> str:
        return f"{self.category}.{self.name}"

    @property
    def event_prefix(self) -> str:
        return self.webhook_name or self.name


MODELS: list[ModelSpec] = [
    ModelSpec(
        "Employee",
        "hris",
        "employees",
        "employee",
        employee,
        {
            "company": "Company",
            "employments": "Employment",
            "groups": "Group",
            "home_location": "Location",
            "manager": "Employee",
            "pay_group": "PayGroup",
            "team": "Team",
            "work_location": "Location",
        },
    ),
    ModelSpec(
        "Employment",
        "hris",
        "employments",
        "employee",
        employment,
        {"employee": "Employee", "pay_group": "PayGroup"},
    ),
    ModelSpec("Team", "hris", "teams", "team", team, {"parent_team": "Team"}),
    ModelSpec("Group", "hris", "groups", "team", group),
    ModelSpec("Location", "hris", "locations", "location", location),
    ModelSpec("Company", "hris", "companies", "company", company),
    ModelSpec("User", "crm", "users", "user", crm_user, webhook_name="CRMUser"),
    ModelSpec(
        "Account", "crm", "accounts", "account", crm_account, {"owner": "User"}, webhook_name="CRMAccount"
    ),
    ModelSpec(
        "Contact",
        "crm",
        "contacts",
        "contact",
        crm_contact,
        {"account": "Account", "owner": "User"},
        webhook_name="CRMContact",
    ),
]

BY_PATH = {(m.category, m.path): m for m in MODELS}
BY_KIND: dict[str, list[ModelSpec]] = {}
for _spec in MODELS:
    BY_KIND.setdefault(_spec.kind, []).append(_spec)


def models_for(category: str) -> list[ModelSpec]:
    return [m for m in MODELS if m.category == category]


def wrap(
    model_id: str, rid: str, created_at: str, modified_at: str, deleted: bool, body: dict[str, Any]
) -> dict[str, Any]:
    """Put the fields every common model has around the model's own fields, in Merge's order."""
    return {
        "id": model_id,
        "remote_id": rid,
        "created_at": created_at,
        "modified_at": modified_at,
        **body,
        "remote_was_deleted": deleted,
        "field_mappings": FIELD_MAPPINGS,
        "remote_data": None,
    }

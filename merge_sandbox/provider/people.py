"""Changes to a provider tenant's people: hire, change, terminate (now or future-dated), rehire, delete.

Every change bumps the tenant's change counter, which is how Merge's sync finds what moved.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from typing import Any

import orjson

from merge_sandbox.clock import Clock, iso, iso_date
from merge_sandbox.provider import generate
from merge_sandbox.store import Store

PERSON_KIND = {"hris": "employee", "crm": "user"}
CHANGEABLE = {
    "hris": {
        "first_name",
        "last_name",
        "preferred_name",
        "title",
        "team",
        "department",
        "manager",
        "location",
        "employment_type",
        "work_email",
        "personal_email",
        "mobile_phone",
        "pay_rate",
        "username",
        # Any value: Merge passes it through as employment_status; one outside its enum stands for a value
        # Merge added after the client was written (schema drift).
        "status",
    },
    "crm": {"first_name", "last_name", "email", "title", "active"},
}


class PersonError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def person_view(row: sqlite3.Row) -> dict[str, Any]:
    return {"remote_id": row["remote_id"], "deleted": bool(row["deleted"]), **orjson.loads(row["data"])}


def get_person(store: Store, tenant: sqlite3.Row, remote_id: str) -> sqlite3.Row:
    row = store.one(
        "SELECT * FROM provider_objects WHERE tenant_id = ? AND kind = ? AND remote_id = ?",
        (tenant["id"], PERSON_KIND[tenant["category"]], remote_id),
    )
    if row is None:
        raise PersonError("No such person in this tenant.", 404)
    return row


def live_person(store: Store, tenant: sqlite3.Row, remote_id: str) -> sqlite3.Row:
    """A deleted record is gone from the provider: it can be restored (rehire), not edited."""
    row = get_person(store, tenant, remote_id)
    if row["deleted"]:
        raise PersonError("This person was deleted; rehire them to restore the record first.", 409)
    return row


def list_people(store: Store, tenant: sqlite3.Row, after: str, limit: int) -> list[dict[str, Any]]:
    rows = store.all(
        "SELECT * FROM provider_objects WHERE tenant_id = ? AND kind = ? AND remote_id > ?"
        " ORDER BY remote_id LIMIT ?",
        (tenant["id"], PERSON_KIND[tenant["category"]], after, limit),
    )
    return [person_view(r) for r in rows]


def save(
    store: Store, tenant_id: str, kind: str, remote_id: str, data: dict[str, Any], deleted: bool = False
) -> None:
    with store.write() as conn:
        rev = int(conn.execute("SELECT rev FROM tenants WHERE id = ?", (tenant_id,)).fetchone()["rev"]) + 1
        conn.execute("UPDATE tenants SET rev = ? WHERE id = ?", (rev, tenant_id))
        conn.execute(
            "INSERT INTO provider_objects (tenant_id, kind, remote_id, rev, deleted, data) VALUES"
            " (?,?,?,?,?,?)"
            " ON CONFLICT(tenant_id, kind, remote_id) DO UPDATE SET rev = excluded.rev,"
            " deleted = excluded.deleted, data = excluded.data",
            (tenant_id, kind, remote_id, rev, int(deleted), orjson.dumps(data).decode()),
        )


def hire(store: Store, clock: Clock, tenant: sqlite3.Row, fields: dict[str, Any]) -> dict[str, Any]:
    category = tenant["category"]
    with store.write() as conn:
        number = int(
            conn.execute("SELECT next_number FROM tenants WHERE id = ?", (tenant["id"],)).fetchone()[0]
        )
        conn.execute("UPDATE tenants SET next_number = ? WHERE id = ?", (number + 1, tenant["id"]))
    now = clock.now()
    ctx = generate.people_context(tenant["provider"], tenant["domain"], number, tenant["seed"], now, iso(now))
    ctx.rng = random.Random(tenant["seed"] * 1_000_003 + number)  # noqa: S311 - seeded on purpose: same seed, same people
    if category == "hris":
        remote_id = generate.employee_remote_id(tenant["provider"], number)
        data = generate.employee_record(ctx, number - 1)
        start = str(fields.pop("start_date", None) or now.date().isoformat())
        data.update(
            status="PENDING" if start > now.date().isoformat() else "ACTIVE",
            termination_date=None,
            hire_date=now.date().isoformat(),
            start_date=start,
            created=iso(now),
        )
    else:
        remote_id = generate.crm_user_remote_id(tenant["provider"], number)
        data = generate.crm_user_record(ctx, number - 1)
        if "email" not in fields:
            data.update(_new_at_the_company(store, tenant, ctx, number - 1))
        data.update(active=True, created=iso(now))
    _apply_fields(category, data, fields)
    save(store, tenant["id"], PERSON_KIND[category], remote_id, data)
    if category == "hris" and data["status"] == "PENDING":
        schedule(store, tenant["id"], remote_id, data["start_date"], {"status": "ACTIVE"})
    return {"remote_id": remote_id, "deleted": False, **data}


_EMAIL = "lower(coalesce(json_extract(o.data, '$.email'), json_extract(o.data, '$.work_email'), ''))"


def _new_at_the_company(
    store: Store, tenant: sqlite3.Row, ctx: generate.PeopleContext, index: int
) -> dict[str, str]:
    """A CRM hire's name and email, which nobody at the company's domain has: its users may be an HRIS
    tenant's employees (people_from) named by the same seeded sequence, so it starts past every name the
    domain's other tenants have handed out, and skips any in use."""
    row = store.one(
        "SELECT MAX(next_number) FROM tenants WHERE domain = ? AND id != ?", (tenant["domain"], tenant["id"])
    )
    position = max(index, int(row[0]) - 1) if row and row[0] is not None else index
    while True:
        candidates = [generate.generated_name(ctx, position + k) for k in range(100)]
        taken = {
            r[0]
            for r in store.all(
                f"SELECT {_EMAIL} FROM provider_objects o JOIN tenants t ON t.id = o.tenant_id"  # noqa: S608
                f" WHERE t.domain = ? AND o.kind IN ('employee', 'user') AND {_EMAIL} IN"
                f" ({', '.join('?' * len(candidates))})",
                (tenant["domain"], *(email.lower() for _, _, email in candidates)),
            )
        }
        for first, last, email in candidates:
            if email.lower() not in taken:
                return {"first_name": first, "last_name": last, "email": email}
        position += len(candidates)


def _apply_fields(category: str, data: dict[str, Any], fields: dict[str, Any]) -> None:
    unknown = set(fields) - CHANGEABLE[category]
    if unknown:
        raise PersonError(f"Unknown or read-only fields: {', '.join(sorted(unknown))}.")
    data.update(fields)


def change(store: Store, tenant: sqlite3.Row, remote_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    row = live_person(store, tenant, remote_id)
    data = orjson.loads(row["data"])
    _apply_fields(tenant["category"], data, fields)
    save(store, tenant["id"], row["kind"], remote_id, data)
    return {"remote_id": remote_id, "deleted": False, **data}


def terminate(
    store: Store, clock: Clock, tenant: sqlite3.Row, remote_id: str, date: str | None
) -> dict[str, Any]:
    row = live_person(store, tenant, remote_id)
    data = orjson.loads(row["data"])
    today = clock.now().date()
    day = dt.date.fromisoformat(date) if date else today
    if tenant["category"] == "crm":
        data["active"] = False
    elif day > today:
        data["termination_date"] = day.isoformat()
        schedule(store, tenant["id"], remote_id, day.isoformat(), {"status": "INACTIVE"})
    else:
        data.update(status="INACTIVE", termination_date=day.isoformat())
    save(store, tenant["id"], row["kind"], remote_id, data)
    return {"remote_id": remote_id, "deleted": False, **data}


def rehire(store: Store, clock: Clock, tenant: sqlite3.Row, remote_id: str) -> dict[str, Any]:
    row = get_person(store, tenant, remote_id)
    data = orjson.loads(row["data"])
    if tenant["category"] == "crm":
        data["active"] = True
    else:
        today = clock.now().date().isoformat()
        data.update(status="ACTIVE", termination_date=None, hire_date=today, start_date=today)
        with store.write() as conn:
            conn.execute(
                "UPDATE scheduled_changes SET applied = 2 WHERE tenant_id = ? AND remote_id = ? AND"
                " applied = 0",
                (tenant["id"], remote_id),
            )
    save(store, tenant["id"], row["kind"], remote_id, data)
    return {"remote_id": remote_id, "deleted": False, **data}


def delete(store: Store, tenant: sqlite3.Row, remote_id: str) -> None:
    row = live_person(store, tenant, remote_id)
    save(store, tenant["id"], row["kind"], remote_id, orjson.loads(row["data"]), deleted=True)


def schedule(store: Store, tenant_id: str, remote_id: str, day: str, change: dict[str, Any]) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO scheduled_changes (tenant_id, kind, remote_id, effective_at, change) VALUES"
            " (?,?,?,?,?)",
            (
                tenant_id,
                "employee",
                remote_id,
                iso_date(dt.date.fromisoformat(day)),
                orjson.dumps(change).decode(),
            ),
        )


def apply_due_changes(store: Store, clock: Clock, tenant_id: str) -> int:
    """Future-dated changes take effect in the provider once the sandbox clock reaches their date."""
    due = store.all(
        "SELECT * FROM scheduled_changes WHERE tenant_id = ? AND applied = 0 AND effective_at <= ?"
        " ORDER BY id",
        (tenant_id, clock.now_iso()),
    )
    for item in due:
        row = store.one(
            "SELECT * FROM provider_objects WHERE tenant_id = ? AND kind = ? AND remote_id = ?",
            (tenant_id, item["kind"], item["remote_id"]),
        )
        if row is not None:
            data = orjson.loads(row["data"])
            data.update(orjson.loads(item["change"]))
            save(store, tenant_id, item["kind"], item["remote_id"], data, bool(row["deleted"]))
        with store.write() as conn:
            conn.execute("UPDATE scheduled_changes SET applied = 1 WHERE id = ?", (item["id"],))
    return len(due)

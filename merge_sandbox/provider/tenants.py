"""Provider tenants: creation, their sync user and API credential, and how they refuse access."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from merge_sandbox.catalog import INTEGRATIONS, Integration
from merge_sandbox.clock import Clock, iso, parse_iso
from merge_sandbox.provider import generate
from merge_sandbox.store import Store

CREDENTIAL_TTL = dt.timedelta(days=365)
MFA_TTL = dt.timedelta(days=30)
BATCH = 5000
MAX_SIZE = 2_000_000


class ProviderRefusal(Exception):
    """The provider turned a request away; `cause` says why in the sandbox's terms."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message


@dataclass
class TenantSpec:
    provider: str
    name: str
    size: int = 25
    seed: int = 1
    username: str | None = None
    password: str | None = None
    domain: str | None = None
    # A CRM's users drawn from this HRIS tenant's employees (id or subdomain): `size` of them, the same
    # humans with the same names and work emails, as a company's CRM users are some of its employees.
    people_from: str | None = None


def integration_of(tenant: sqlite3.Row) -> Integration:
    return INTEGRATIONS[tenant["provider"]]


def get_tenant(store: Store, tenant_id: str) -> sqlite3.Row | None:
    return store.one("SELECT * FROM tenants WHERE id = ? OR subdomain = ?", (tenant_id, tenant_id))


def tenant_view(tenant: sqlite3.Row, people: int | None = None) -> dict[str, Any]:
    hidden = {"permissions", "online", "rev", "next_number"}
    view = {k: tenant[k] for k in tenant.keys() if k not in hidden}  # noqa: SIM118 - sqlite3.Row iterates values
    view["permissions"] = orjson.loads(tenant["permissions"])
    view["online"] = bool(tenant["online"])
    view["integration_name"] = integration_of(tenant).name
    view["credential_kind"] = integration_of(tenant).credential_kind
    view["uses_mfa"] = integration_of(tenant).uses_mfa
    view["change_counter"] = tenant["rev"]
    if people is not None:
        view["people"] = people
    return view


def _unique_subdomain(store: Store, base: str) -> str:
    candidate, n = base, 1
    while store.one("SELECT 1 FROM tenants WHERE subdomain = ?", (candidate,)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def create_tenant(store: Store, clock: Clock, spec: TenantSpec) -> sqlite3.Row:
    if spec.provider not in INTEGRATIONS:
        raise ValueError(f"provider must be one of {sorted(INTEGRATIONS)}")
    if not 1 <= spec.size <= MAX_SIZE:
        raise ValueError(f"size must be between 1 and {MAX_SIZE}")
    integration = INTEGRATIONS[spec.provider]
    source = _people_source(store, spec, integration) if spec.people_from is not None else None
    now = clock.now()
    slug = generate.slugify(spec.name)
    subdomain = _unique_subdomain(store, slug)
    domain = spec.domain or (source["domain"] if source else f"{subdomain}.example.com")
    tenant_id = "tn_" + secrets.token_hex(6)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO tenants (id, provider, category, name, subdomain, domain, username, password,"
            " credential_id, credential_expires_at, permissions, mfa_expires_at, online, seed, size, rev,"
            " next_number, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,0,?,?)",
            (
                tenant_id,
                spec.provider,
                integration.category,
                spec.name,
                subdomain,
                domain,
                spec.username or f"merge.sync@{domain}",
                spec.password or secrets.token_urlsafe(12),
                secrets.token_hex(8),
                iso(now + CREDENTIAL_TTL),
                orjson.dumps(list(integration.permissions)).decode(),
                iso(now + MFA_TTL) if integration.uses_mfa else None,
                spec.seed,
                spec.size,
                spec.size + 1,
                iso(now),
            ),
        )
    _populate(store, tenant_id, spec, integration, domain, now, source)
    tenant = get_tenant(store, tenant_id)
    assert tenant is not None
    return tenant


def _populate(
    store: Store,
    tenant_id: str,
    spec: TenantSpec,
    integration: Integration,
    domain: str,
    now: dt.datetime,
    source: sqlite3.Row | None,
) -> None:
    ctx = generate.people_context(spec.provider, domain, spec.size, spec.seed, now, iso(now))
    records: Iterable[generate.Record]
    if integration.category == "hris":
        structure = generate.hris_structure(spec.name, ctx.shape, ctx.created)
        records = _chain(structure, generate.hris_people(ctx))
    else:
        drawn = _drawn_employees(store, source, spec.size, spec.seed) if source is not None else None
        records = generate.crm_people(ctx, drawn)
    write_records(store, tenant_id, records)


# An employee a CRM user can be: still in the HRIS (terminated or not), with a work email to sign in with.
_DRAWABLE = (
    "tenant_id = ? AND kind = 'employee' AND deleted = 0"
    " AND coalesce(json_extract(data, '$.work_email'), '') != ''"
)


def _people_source(store: Store, spec: TenantSpec, integration: Integration) -> sqlite3.Row:
    """The HRIS tenant a CRM's users are drawn from, refused with a reason the caller can act on."""
    if integration.category != "crm":
        raise ValueError(f"people_from is for CRM tenants; {integration.name} is an HRIS")
    source = get_tenant(store, str(spec.people_from))
    if source is None:
        raise ValueError(f"people_from: no tenant {spec.people_from!r}")
    if source["category"] != "hris":
        raise ValueError(
            f"people_from must name an HRIS tenant; {source['subdomain']} is a CRM ({source['provider']})"
        )
    row = store.one(f"SELECT COUNT(*) FROM provider_objects WHERE {_DRAWABLE}", (source["id"],))  # noqa: S608
    available = int(row[0]) if row else 0
    if spec.size > available:
        raise ValueError(
            f"size {spec.size} is more than the {available} employees with a work email"
            f" of {source['subdomain']}"
        )
    return source


def _drawn_employees(store: Store, source: sqlite3.Row, size: int, seed: int) -> Iterator[dict[str, Any]]:
    """`size` of the HRIS tenant's employees, chosen by the seed, in remote id order: read a batch at a time
    (each its own query), so a large tenant is never held in memory and no read stays open during writes."""
    row = store.one(f"SELECT COUNT(*) FROM provider_objects WHERE {_DRAWABLE}", (source["id"],))  # noqa: S608
    available = int(row[0]) if row else 0
    rng = random.Random(seed * 104_729)  # noqa: S311 - seeded on purpose: same seed, same users
    chosen, position, after = set(rng.sample(range(available), size)), 0, ""
    while rows := store.all(
        f"SELECT remote_id, data FROM provider_objects WHERE {_DRAWABLE} AND remote_id > ?"  # noqa: S608
        " ORDER BY remote_id LIMIT ?",
        (source["id"], after, BATCH),
    ):
        for r in rows:
            if position in chosen:
                employee = orjson.loads(r["data"])
                yield {
                    "first_name": employee.get("preferred_name") or employee["first_name"],
                    "last_name": employee["last_name"],
                    "work_email": employee["work_email"],
                }
            position += 1
        after = rows[-1]["remote_id"]


def _chain(*parts: Iterable[generate.Record]) -> Iterator[generate.Record]:
    for part in parts:
        yield from part


def write_records(store: Store, tenant_id: str, records: Iterable[generate.Record]) -> None:
    """Insert in batches, each its own transaction, so other writers are not starved."""
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        with store.write() as conn:
            row = conn.execute("SELECT rev FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
            rev = int(row["rev"])
            rows = [
                (tenant_id, kind, rid, rev + n + 1, orjson.dumps(data).decode())
                for n, (kind, rid, data) in enumerate(batch)
            ]
            conn.executemany(
                "INSERT INTO provider_objects (tenant_id, kind, remote_id, rev, deleted, data)"
                " VALUES (?,?,?,?,0,?)",
                rows,
            )
            conn.execute("UPDATE tenants SET rev = ? WHERE id = ?", (rev + len(rows), tenant_id))


def check_access(tenant: sqlite3.Row, username: str, password: str, now: dt.datetime) -> None:
    """Answer as the provider would to a request made with a linked account's stored credentials."""
    integration = integration_of(tenant)
    if not tenant["online"]:
        raise ProviderRefusal("offline", f"{integration.name} is not responding (503 Service Unavailable).")
    if username != tenant["username"] or password != tenant["password"]:
        raise ProviderRefusal("credentials", f"{integration.name} rejected the sync user's login (401).")
    if tenant["mfa_expires_at"] and parse_iso(tenant["mfa_expires_at"]) <= now:
        raise ProviderRefusal("mfa", f"{integration.name} requires the sync user to complete MFA again.")
    if parse_iso(tenant["credential_expires_at"]) <= now:
        raise ProviderRefusal("expired_credential", f"The {integration.credential_kind} has expired.")
    check_permission(tenant)


def check_permission(tenant: sqlite3.Row) -> None:
    integration = integration_of(tenant)
    if integration.required_permission not in orjson.loads(tenant["permissions"]):
        raise ProviderRefusal(
            "permission", f"The sync user lacks the {integration.required_permission!r} permission (403)."
        )


def renew_session(store: Store, clock: Clock, tenant_id: str) -> None:
    """Logging in through Link issues a fresh API credential and, where used, a fresh MFA session."""
    now = clock.now()
    with store.write() as conn:
        conn.execute(
            "UPDATE tenants SET credential_id = ?, credential_expires_at = ?,"
            " mfa_expires_at = CASE WHEN mfa_expires_at IS NULL THEN NULL ELSE ? END WHERE id = ?",
            (secrets.token_hex(8), iso(now + CREDENTIAL_TTL), iso(now + MFA_TTL), tenant_id),
        )


def update_tenant(store: Store, tenant_id: str, **changes: Any) -> None:
    allowed = {"password", "credential_expires_at", "permissions", "mfa_expires_at", "online", "username"}
    assert set(changes) <= allowed
    assignments = ", ".join(f"{k} = ?" for k in changes)
    with store.write() as conn:
        conn.execute(f"UPDATE tenants SET {assignments} WHERE id = ?", (*changes.values(), tenant_id))  # noqa: S608

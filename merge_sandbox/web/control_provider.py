"""Control routes for the simulated providers: tenants, their sync user, and their people."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route

from merge_sandbox.clock import iso
from merge_sandbox.provider import people
from merge_sandbox.provider.tenants import (
    TenantSpec,
    create_tenant,
    get_tenant,
    integration_of,
    tenant_view,
    update_tenant,
)
from merge_sandbox.web.control_base import control, tenant_or_404
from merge_sandbox.web.http import HttpError, sandbox

TENANT = "/_sandbox/tenants/{tenant_id}"
PERSON = TENANT + "/people/{remote_id}"


def _count(request: Request, tenant_id: str) -> int:
    row = sandbox(request).store.one(
        "SELECT COUNT(*) FROM provider_objects WHERE tenant_id = ? AND kind IN ('employee', 'user')"
        " AND deleted = 0",
        (tenant_id,),
    )
    return int(row[0]) if row else 0


def create(request: Request, body: dict[str, Any]) -> Any:
    allowed = {"provider", "name", "size", "seed", "username", "password", "domain", "people_from"}
    if set(body) - allowed:
        raise ValueError(f"unknown fields: {', '.join(sorted(set(body) - allowed))}")
    if not body.get("provider") or not body.get("name"):
        raise ValueError("provider and name are required")
    spec = TenantSpec(
        provider=str(body["provider"]),
        name=str(body["name"]),
        size=int(body.get("size", 25)),
        seed=int(body.get("seed", 1)),
        username=body.get("username"),
        password=body.get("password"),
        domain=body.get("domain"),
        people_from=None if body.get("people_from") is None else str(body["people_from"]),
    )
    box = sandbox(request)
    tenant = create_tenant(box.store, box.clock, spec)
    view = tenant_view(tenant, _count(request, tenant["id"]))
    return view | ({"people_from": spec.people_from} if spec.people_from is not None else {})


def list_tenants(request: Request, body: dict[str, Any]) -> Any:
    rows = sandbox(request).store.all("SELECT * FROM tenants ORDER BY created_at, id")
    return {"results": [tenant_view(r) for r in rows]}


def show(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    return tenant_view(tenant, _count(request, tenant["id"]))


def _refreshed(request: Request, tenant_id: str) -> Any:
    tenant = get_tenant(sandbox(request).store, tenant_id)
    assert tenant is not None
    return tenant_view(tenant)


def reset_password(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    password = str(body.get("password") or secrets.token_urlsafe(12))
    update_tenant(sandbox(request).store, tenant["id"], password=password)
    return {"password": password, "username": tenant["username"]}


def expire_credential(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    update_tenant(
        sandbox(request).store, tenant["id"], credential_expires_at=sandbox(request).clock.now_iso()
    )
    return _refreshed(request, tenant["id"])


def _permission(request: Request, body: dict[str, Any], grant: bool) -> Any:
    tenant = tenant_or_404(request)
    permission = str(body.get("permission") or integration_of(tenant).required_permission)
    current = [p for p in orjson.loads(tenant["permissions"]) if p != permission]
    if grant:
        current.append(permission)
    update_tenant(sandbox(request).store, tenant["id"], permissions=orjson.dumps(current).decode())
    return _refreshed(request, tenant["id"])


def revoke_permission(request: Request, body: dict[str, Any]) -> Any:
    return _permission(request, body, grant=False)


def grant_permission(request: Request, body: dict[str, Any]) -> Any:
    return _permission(request, body, grant=True)


def expire_mfa(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    if not integration_of(tenant).uses_mfa:
        raise HttpError(
            400, f"{integration_of(tenant).name} sync users do not use multi-factor authentication."
        )
    update_tenant(sandbox(request).store, tenant["id"], mfa_expires_at=iso(sandbox(request).clock.now()))
    return _refreshed(request, tenant["id"])


def set_online(online: bool) -> Any:
    def handler(request: Request, body: dict[str, Any]) -> Any:
        tenant = tenant_or_404(request)
        update_tenant(sandbox(request).store, tenant["id"], online=int(online))
        return _refreshed(request, tenant["id"])

    return handler


def list_people(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    params = request.query_params
    limit = max(1, min(1000, int(params.get("limit") or 100)))
    rows = people.list_people(sandbox(request).store, tenant, params.get("after") or "", limit)
    return {"results": rows, "next_after": rows[-1]["remote_id"] if len(rows) == limit else None}


def get_person(request: Request, body: dict[str, Any]) -> Any:
    tenant = tenant_or_404(request)
    return people.person_view(
        people.get_person(sandbox(request).store, tenant, request.path_params["remote_id"])
    )


def hire(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    return people.hire(box.store, box.clock, tenant_or_404(request), dict(body))


def change(request: Request, body: dict[str, Any]) -> Any:
    return people.change(
        sandbox(request).store, tenant_or_404(request), request.path_params["remote_id"], body
    )


def terminate(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    date = body.get("date")
    return people.terminate(
        box.store,
        box.clock,
        tenant_or_404(request),
        request.path_params["remote_id"],
        str(date) if date else None,
    )


def rehire(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    return people.rehire(box.store, box.clock, tenant_or_404(request), request.path_params["remote_id"])


def delete_person(request: Request, body: dict[str, Any]) -> Any:
    people.delete(sandbox(request).store, tenant_or_404(request), request.path_params["remote_id"])
    return {"remote_id": request.path_params["remote_id"], "deleted": True}


routes = [
    Route("/_sandbox/tenants", control(create, 201), methods=["POST"]),
    Route("/_sandbox/tenants", control(list_tenants), methods=["GET"]),
    Route(TENANT, control(show), methods=["GET"]),
    Route(f"{TENANT}/reset-password", control(reset_password), methods=["POST"]),
    Route(f"{TENANT}/expire-credential", control(expire_credential), methods=["POST"]),
    Route(f"{TENANT}/revoke-permission", control(revoke_permission), methods=["POST"]),
    Route(f"{TENANT}/grant-permission", control(grant_permission), methods=["POST"]),
    Route(f"{TENANT}/expire-mfa", control(expire_mfa), methods=["POST"]),
    Route(f"{TENANT}/offline", control(set_online(False)), methods=["POST"]),
    Route(f"{TENANT}/online", control(set_online(True)), methods=["POST"]),
    Route(f"{TENANT}/people", control(list_people), methods=["GET"]),
    Route(f"{TENANT}/people", control(hire, 201), methods=["POST"]),
    Route(PERSON, control(get_person), methods=["GET"]),
    Route(PERSON, control(change), methods=["PATCH"]),
    Route(PERSON, control(delete_person), methods=["DELETE"]),
    Route(f"{PERSON}/terminate", control(terminate), methods=["POST"]),
    Route(f"{PERSON}/rehire", control(rehire), methods=["POST"]),
]

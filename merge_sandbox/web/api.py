"""Merge's organisation and linked-account routes: Link tokens, accounts, sync status, issues."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from merge_sandbox.catalog import CATEGORIES, INTEGRATIONS
from merge_sandbox.provider.tenants import get_tenant
from merge_sandbox.unified import accounts, issues, linking
from merge_sandbox.unified.listing import decode_cursor, encode_cursor, page_size, truthy
from merge_sandbox.unified.sync import sync_status_items
from merge_sandbox.web.http import (
    HttpError,
    api_key_is_test,
    base_url,
    json_body,
    json_response,
    linked_account,
    sandbox,
)


def category_of(request: Request) -> str:
    category = str(request.path_params["category"])
    if category not in CATEGORIES:
        raise HttpError(404, "Not found.")
    return category


async def link_token(request: Request) -> Response:
    category = category_of(request)
    is_test = api_key_is_test(request)
    body = await json_body(request)
    box = sandbox(request)
    try:
        link_request = linking.parse_link_request(body, category)
    except linking.LinkError as exc:
        raise HttpError(exc.status, exc.message, **exc.extra) from exc
    row = await run_in_threadpool(linking.create_link_token, box.store, box.clock, link_request, is_test)
    integration = INTEGRATIONS[link_request.integration].name if link_request.integration else ""
    magic = f"{base_url(request)}/link/m/{row['token']}" if link_request.magic else ""
    return json_response(
        {"link_token": row["token"], "integration_name": integration, "magic_link_url": magic}
    )


def account_token(request: Request) -> Response:
    category_of(request)
    is_test = api_key_is_test(request)
    box = sandbox(request)
    try:
        account = linking.exchange_public_token(
            box.store, box.clock, request.path_params["public_token"], is_test
        )
    except linking.LinkError as exc:
        raise HttpError(exc.status, exc.message) from exc
    integration = INTEGRATIONS[account["integration"]]
    return json_response(
        {
            "account_token": account["account_token"],
            "integration": integration.account_integration(base_url(request)),
            "id": account["id"],
        }
    )


def account_details(request: Request) -> Response:
    account = linked_account(request, category_of(request))
    return json_response(accounts.details_view(account))


def _account_filters(params: Mapping[str, str], is_test: bool) -> tuple[list[str], list[Any]]:
    where: list[str] = ["deleted = 0", "is_test = ?"]
    args: list[Any] = [int(is_test or truthy(params.get("is_test_account")))]
    simple = {
        "status": "status",
        "end_user_origin_id": "end_user_origin_id",
        "category": "category",
        "end_user_email_address": "end_user_email_address",
        "id": "id",
        "end_user_organization_name": "end_user_organization_name",
    }
    for param, column in simple.items():
        if params.get(param):
            where.append(f"{column} = ?")
            args.append(params[param])
    for param, column in (("ids", "id"), ("end_user_origin_ids", "end_user_origin_id")):
        if params.get(param):
            values = [v for v in params[param].split(",") if v]
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if params.get("integration_name"):
        slugs = [
            i.slug for i in INTEGRATIONS.values() if i.name.lower() == params["integration_name"].lower()
        ]
        where.append(f"integration IN ({','.join('?' * len(slugs)) or 'NULL'})")
        args.extend(slugs)
    return where, args


def _paged(
    request: Request, table_sql: str, where: list[str], args: list[Any], order_column: str
) -> tuple[list[sqlite3.Row], str | None, str | None]:
    params = request.query_params
    size = page_size(params)
    position, reverse = decode_cursor(params["cursor"]) if params.get("cursor") else (0, False)
    op, order = ("<", "DESC") if reverse else (">", "ASC")
    conditions = " AND ".join([*where, f"{order_column} {op} ?"])
    sql = f"{table_sql} WHERE {conditions} ORDER BY {order_column} {order} LIMIT ?"
    rows = sandbox(request).store.all(sql, [*args, position, size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()
    if not rows:
        return rows, None, None
    later, earlier = (True, more) if reverse else (more, position > 0)
    next_cursor = encode_cursor(rows[-1]["_pos"], False) if later else None
    previous = encode_cursor(rows[0]["_pos"], True) if earlier else None
    return rows, next_cursor, previous


def linked_accounts(request: Request) -> Response:
    category_of(request)
    is_test = api_key_is_test(request)
    where, args = _account_filters(request.query_params, is_test)
    rows, next_cursor, previous = _paged(
        request, "SELECT rowid AS _pos, * FROM linked_accounts", where, args, "rowid"
    )
    store, url = sandbox(request).store, base_url(request)
    results = []
    for row in rows:
        tenant = get_tenant(store, row["tenant_id"])
        results.append(accounts.list_item_view(row, tenant["subdomain"] if tenant else "", url))
    return json_response({"next": next_cursor, "previous": previous, "results": results})


def delete_account(request: Request) -> Response:
    account = linked_account(request, category_of(request))
    box = sandbox(request)
    with box.store.write() as conn:
        conn.execute("UPDATE linked_accounts SET deleted = 1 WHERE id = ?", (account["id"],))
        conn.execute(
            "UPDATE issues SET status = 'RESOLVED', resolved_at = ? WHERE account_id = ?"
            " AND status = 'ONGOING'",
            (box.clock.now_iso(), account["id"]),
        )
    box.webhooks.emit("LinkedAccount.deleted", account, {"linked_account_id": account["id"]})
    threading.Thread(target=_purge, args=(box.store, account["id"]), daemon=True).start()
    return json_response({})  # the current specs: 200, application/json, an empty object


def _purge(store: Any, account_id: str) -> None:
    """Merge forgets a deleted account's data; done off the request because it can be millions of rows."""
    while True:
        with store.write() as conn:
            cursor = conn.execute(
                "DELETE FROM common WHERE seq IN (SELECT seq FROM common WHERE account_id = ? LIMIT 20000)",
                (account_id,),
            )
            if cursor.rowcount == 0:
                return


def sync_status(request: Request) -> Response:
    account = linked_account(request, category_of(request))
    return json_response({"next": None, "previous": None, "results": sync_status_items(account)})


def resync(request: Request) -> Response:
    account = linked_account(request, category_of(request))
    box = sandbox(request)
    items = sync_status_items(account)
    if account["status"] != "RELINK_NEEDED":
        box.engine.request_sync(account["id"])
        for item in items:
            item["status"] = "SYNCING"
    return json_response(items)


def _issue_filters(request: Request, is_test: bool) -> tuple[list[str], list[Any]]:
    params = request.query_params
    where: list[str] = ["a.deleted = 0", "a.is_test = ?"]
    args: list[Any] = [int(is_test)]
    if params.get("status"):
        where.append("i.status = ?")
        args.append(params["status"])
    if params.get("linked_account_id"):
        where.append("i.account_id = ?")
        args.append(params["linked_account_id"])
    if params.get("account_token"):
        where.append("a.account_token = ?")
        args.append(params["account_token"])
    if params.get("end_user_organization_name"):
        where.append("a.end_user_organization_name = ?")
        args.append(params["end_user_organization_name"])
    if not truthy(params.get("include_muted")):
        where.append("i.is_muted = 0")
    for param, column, op in (
        ("first_incident_time_after", "first_incident_time", ">"),
        ("first_incident_time_before", "first_incident_time", "<"),
        ("last_incident_time_after", "last_incident_time", ">"),
        ("last_incident_time_before", "last_incident_time", "<"),
    ):
        if params.get(param):
            where.append(f"i.{column} {op} ?")
            args.append(params[param])
    return where, args


ISSUES_SQL = (
    "SELECT i.created_seq AS _pos, i.*, a.id AS a_id FROM issues i"
    " JOIN linked_accounts a ON a.id = i.account_id"
)


def issue_list(request: Request) -> Response:
    category_of(request)
    is_test = api_key_is_test(request)
    where, args = _issue_filters(request, is_test)
    rows, next_cursor, previous = _paged(request, ISSUES_SQL, where, args, "i.created_seq")
    store = sandbox(request).store
    results = [issues.issue_view(r, accounts.get_account(store, r["account_id"])) for r in rows]
    return json_response({"next": next_cursor, "previous": previous, "results": results})


def issue_detail(request: Request) -> Response:
    category_of(request)
    is_test = api_key_is_test(request)
    store = sandbox(request).store
    row = store.one(
        f"{ISSUES_SQL} WHERE i.id = ? AND a.is_test = ? AND a.deleted = 0",
        (request.path_params["id"], int(is_test)),
    )
    if row is None:
        raise HttpError(404, "Not found.")
    return json_response(issues.issue_view(row, accounts.get_account(store, row["account_id"])))


PREFIX = "/api/{category}/v1"
routes = [
    Route(f"{PREFIX}/link-token", link_token, methods=["POST"]),
    Route(f"{PREFIX}/account-token/{{public_token}}", account_token, methods=["GET"]),
    Route(f"{PREFIX}/account-details", account_details, methods=["GET"]),
    Route(f"{PREFIX}/linked-accounts", linked_accounts, methods=["GET"]),
    Route(f"{PREFIX}/delete-account", delete_account, methods=["POST"]),
    Route(f"{PREFIX}/sync-status", sync_status, methods=["GET"]),
    Route(f"{PREFIX}/sync-status/resync", resync, methods=["POST"]),
    Route(f"{PREFIX}/issues", issue_list, methods=["GET"]),
    Route(f"{PREFIX}/issues/{{id}}", issue_detail, methods=["GET"]),
]

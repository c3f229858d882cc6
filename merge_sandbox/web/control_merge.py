"""Control routes for the Merge layer: sync, clock, config, faults, webhooks, accounts, Link."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from merge_sandbox.faults import PLANS
from merge_sandbox.unified import accounts, issues, linking
from merge_sandbox.unified.webhooks import delivery_view
from merge_sandbox.web.control_base import control, seconds_from
from merge_sandbox.web.http import HttpError, base_url, sandbox


def health(request: Request, body: dict[str, Any]) -> Any:
    return {"ok": True, "now": sandbox(request).clock.now_iso()}


def run_sync(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    account_id = body.get("linked_account_id")
    if account_id:
        if accounts.get_account(box.store, str(account_id)) is None:
            raise HttpError(404, "No such linked account.")
        return {"results": [box.engine.sync_account(str(account_id))]}
    rows = box.store.all("SELECT id FROM linked_accounts WHERE deleted = 0 ORDER BY rowid")
    return {"results": [box.engine.sync_account(r["id"]) for r in rows]}


def list_accounts(request: Request, body: dict[str, Any]) -> Any:
    rows = sandbox(request).store.all("SELECT * FROM linked_accounts WHERE deleted = 0 ORDER BY rowid")
    return {
        "results": [
            {
                **accounts.details_view(r),
                "account_token": r["account_token"],
                "tenant_id": r["tenant_id"],
                "status_detail": r["status_detail"],
                "sync_state": r["sync_state"],
            }
            for r in rows
        ]
    }


def _account(request: Request) -> Any:
    account = accounts.get_account(sandbox(request).store, str(request.path_params["account_id"]))
    if account is None:
        raise HttpError(404, "No such linked account.")
    return account


def set_status(request: Request, body: dict[str, Any]) -> Any:
    account = _account(request)
    accounts.set_status(
        sandbox(request).store, account["id"], str(body.get("status", "")), str(body.get("status_detail", ""))
    )
    return accounts.details_view(accounts.get_account(sandbox(request).store, account["id"]) or account)


def set_rate_limit(request: Request, body: dict[str, Any]) -> Any:
    account = _account(request)
    box = sandbox(request)
    limits = dict(box.faults.state.account_rate_limits)
    plan, per_minute = body.get("plan"), body.get("per_minute")
    if plan is not None:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {', '.join(PLANS)}")
        limits[account["id"]] = PLANS[plan]
    elif per_minute is not None:
        limits[account["id"]] = int(per_minute)
    else:
        limits.pop(account["id"], None)
    box.faults.update({"account_rate_limits": limits})
    return {"linked_account_id": account["id"], "per_minute": limits.get(account["id"])}


def set_deletion_detection(request: Request, body: dict[str, Any]) -> Any:
    """Whether Merge's deletion detection add-on is on for this linked account (the sandbox's default)."""
    account = _account(request)
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be true or false")
    config = sandbox(request).config
    off = [a for a in config.current.deletion_detection_off if a != account["id"]]
    config.update({"deletion_detection_off": off if enabled else [*off, account["id"]]})
    return {
        "linked_account_id": account["id"],
        "deletion_detection": config.current.detects_deletions(account["id"]),
    }


def inject_issue(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    account = accounts.get_account(box.store, str(body.get("linked_account_id", "")))
    if account is None:
        raise HttpError(404, "No such linked account.")
    description = str(body.get("error_description") or "Third party offline")
    issue, new = issues.open_issue(
        box.store, account["id"], f"injected:{description}", "", box.clock.now_iso(), description
    )
    if new:
        box.webhooks.emit("Issue.new", account, issues.issue_view(issue, account))
    if body.get("status") == "RESOLVED":
        for resolved in issues.resolve_issues(box.store, account["id"], box.clock.now_iso()):
            box.webhooks.emit("Issue.resolved", account, issues.issue_view(resolved, account))
        issue = box.store.one("SELECT * FROM issues WHERE id = ?", (issue["id"],)) or issue
    return issues.issue_view(issue, account)


def list_webhooks(request: Request, body: dict[str, Any]) -> Any:
    params = request.query_params
    where, args = ["1 = 1"], []
    for param, column in (("event", "event"), ("state", "state"), ("linked_account_id", "account_id")):
        if params.get(param):
            where.append(f"{column} = ?")
            args.append(params[param])
    rows = sandbox(request).store.all(
        f"SELECT * FROM webhook_deliveries WHERE {' AND '.join(where)} ORDER BY id",  # noqa: S608 - only placeholders and fixed column names are interpolated
        args,
    )
    return {"results": [delivery_view(r) for r in rows]}


def clear_webhooks(request: Request, body: dict[str, Any]) -> Any:
    with sandbox(request).store.write() as conn:
        conn.execute("DELETE FROM webhook_deliveries WHERE state != 'pending'")
    return {"cleared": True}


def get_config(request: Request, body: dict[str, Any]) -> Any:
    return sandbox(request).config.as_dict()


def put_config(request: Request, body: dict[str, Any]) -> Any:
    if "webhook_url" in body:
        body = {**body, "webhook_urls": body.pop("webhook_url")}
    return sandbox(request).config.update(body).__dict__


def get_clock(request: Request, body: dict[str, Any]) -> Any:
    clock = sandbox(request).clock
    return {"now": clock.now_iso(), "offset_seconds": clock.offset_seconds}


def advance_clock(request: Request, body: dict[str, Any]) -> Any:
    clock = sandbox(request).clock
    clock.advance(seconds_from(body))
    return {"now": clock.now_iso(), "offset_seconds": clock.offset_seconds}


def get_faults(request: Request, body: dict[str, Any]) -> Any:
    return sandbox(request).faults.as_dict()


def put_faults(request: Request, body: dict[str, Any]) -> Any:
    sandbox(request).faults.update(body)
    return sandbox(request).faults.as_dict()


def clear_faults(request: Request, body: dict[str, Any]) -> Any:
    sandbox(request).faults.clear()
    return sandbox(request).faults.as_dict()


def ip_blocks(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    return box.faults.ip_blocks(box.clock.now().timestamp())


def start_outage(request: Request, body: dict[str, Any]) -> Any:
    mode = str(body.get("mode", "503"))
    after = int(body.get("after_requests") or 0)
    changes: dict[str, Any] = (
        {"outage_armed": mode, "outage_after_requests": after} if after else {"outage": mode}
    )
    if body.get("hang_seconds") is not None:
        changes["outage_hang_seconds"] = float(body["hang_seconds"])
    sandbox(request).faults.update(changes)
    return sandbox(request).faults.as_dict()


def stop_outage(request: Request, body: dict[str, Any]) -> Any:
    sandbox(request).faults.update({"outage": None, "outage_armed": None, "outage_after_requests": 0})
    return sandbox(request).faults.as_dict()


def complete_link(request: Request, body: dict[str, Any]) -> Any:
    box = sandbox(request)
    public = linking.complete_link(
        box.store,
        box.clock,
        box.engine,
        str(request.path_params["link_token"]),
        str(body.get("tenant", "")),
        str(body.get("username", "")),
        str(body.get("password", "")),
        base_url(request),
    )
    return {"public_token": public}


routes = [
    Route("/_sandbox/health", control(health), methods=["GET"]),
    Route("/_sandbox/sync", control(run_sync), methods=["POST"]),
    Route("/_sandbox/linked-accounts", control(list_accounts), methods=["GET"]),
    Route("/_sandbox/linked-accounts/{account_id}/status", control(set_status), methods=["POST"]),
    Route("/_sandbox/linked-accounts/{account_id}/rate-limit", control(set_rate_limit), methods=["PUT"]),
    Route(
        "/_sandbox/linked-accounts/{account_id}/deletion-detection",
        control(set_deletion_detection),
        methods=["PUT"],
    ),
    Route("/_sandbox/issues", control(inject_issue, 201), methods=["POST"]),
    Route("/_sandbox/webhooks", control(list_webhooks), methods=["GET"]),
    Route("/_sandbox/webhooks", control(clear_webhooks), methods=["DELETE"]),
    Route("/_sandbox/config", control(get_config), methods=["GET"]),
    Route("/_sandbox/config", control(put_config), methods=["PUT"]),
    Route("/_sandbox/clock", control(get_clock), methods=["GET"]),
    Route("/_sandbox/clock/advance", control(advance_clock), methods=["POST"]),
    Route("/_sandbox/faults", control(get_faults), methods=["GET"]),
    Route("/_sandbox/faults", control(put_faults), methods=["PUT"]),
    Route("/_sandbox/faults", control(clear_faults), methods=["DELETE"]),
    Route("/_sandbox/ip-blocks", control(ip_blocks), methods=["GET"]),
    Route("/_sandbox/outage", control(start_outage), methods=["POST"]),
    Route("/_sandbox/outage", control(stop_outage), methods=["DELETE"]),
    Route("/_sandbox/link/{link_token}/complete", control(complete_link), methods=["POST"]),
]

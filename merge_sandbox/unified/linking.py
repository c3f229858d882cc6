"""Link tokens, the Link form's completion, and the public-token exchange.

The Link modal, the magic link page and the test hook all complete through `complete_link`, so a
browser and a test take exactly the same path.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from merge_sandbox.catalog import ALL_CATEGORIES, INTEGRATIONS
from merge_sandbox.clock import Clock, iso, parse_iso
from merge_sandbox.provider.tenants import ProviderRefusal, check_permission, get_tenant, renew_session
from merge_sandbox.store import Store
from merge_sandbox.unified import accounts, issues
from merge_sandbox.unified.sync import SyncEngine

REQUIRED = ("end_user_email_address", "end_user_organization_name", "end_user_origin_id", "categories")


class LinkError(Exception):
    def __init__(self, message: str, status: int = 400, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra or {}


@dataclass
class LinkRequest:
    email: str
    organization: str
    origin_id: str
    category: str
    integration: str | None
    expiry_mins: int
    magic: bool


def parse_link_request(body: Any, category: str) -> LinkRequest:
    if not isinstance(body, dict):
        raise LinkError("JSON body must be an object.")
    missing = [f for f in REQUIRED if body.get(f) in (None, "", [])]
    if missing:
        errors = {f: ["This field is required."] for f in missing}
        raise LinkError(f"Missing required field(s): {', '.join(missing)}.", extra={"errors": errors})
    categories = body["categories"]
    if not isinstance(categories, list) or any(c not in ALL_CATEGORIES for c in categories):
        raise LinkError(f"categories must be a list drawn from {', '.join(ALL_CATEGORIES)}.")
    if category not in categories:
        raise LinkError(f"categories must include {category!r} for this endpoint.")
    integration = body.get("integration")
    if integration is not None and (
        integration not in INTEGRATIONS or INTEGRATIONS[integration].category != category
    ):
        raise LinkError(f"Unknown integration {integration!r} for category {category!r}.")
    magic = bool(body.get("should_create_magic_link_url"))
    expiry = body.get("link_expiry_mins", 30)
    upper = 10080 if magic else 720
    if not isinstance(expiry, int) or isinstance(expiry, bool) or not 30 <= expiry <= upper:
        raise LinkError(f"link_expiry_mins must be an integer between 30 and {upper}.")
    return LinkRequest(
        str(body["end_user_email_address"]),
        str(body["end_user_organization_name"]),
        str(body["end_user_origin_id"]),
        category,
        integration,
        expiry,
        magic,
    )


def create_link_token(store: Store, clock: Clock, request: LinkRequest, is_test: bool) -> sqlite3.Row:
    token = secrets.token_urlsafe(24)
    now = clock.now()
    with store.write() as conn:
        conn.execute(
            "INSERT INTO link_tokens (token, category, end_user_origin_id, end_user_organization_name,"
            " end_user_email_address, integration, is_test, magic, expires_at, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                token,
                request.category,
                request.origin_id,
                request.organization,
                request.email,
                request.integration,
                int(is_test),
                int(request.magic),
                iso(now + dt.timedelta(minutes=request.expiry_mins)),
                iso(now),
            ),
        )
    row = store.one("SELECT * FROM link_tokens WHERE token = ?", (token,))
    assert row is not None
    return row


def usable_link_token(store: Store, clock: Clock, token: str) -> sqlite3.Row:
    row = store.one("SELECT * FROM link_tokens WHERE token = ?", (token,))
    if row is None:
        raise LinkError("This link is not valid.", 404)
    if row["used_at"] is not None:
        raise LinkError("This link has already been used.", 410)
    if parse_iso(row["expires_at"]) <= clock.now():
        raise LinkError("This link has expired. Ask for a new link.", 410)
    return row


def relink_target(store: Store, link: sqlite3.Row) -> sqlite3.Row | None:
    return accounts.find_for_origin(
        store, link["end_user_origin_id"], link["category"], bool(link["is_test"])
    )


def complete_link(
    store: Store,
    clock: Clock,
    engine: SyncEngine,
    token: str,
    tenant_ref: str,
    username: str,
    password: str,
    base_url: str,
    chosen: str | None = None,
) -> str:
    """Check the credentials with the provider; create or relink the account; return a public token."""
    link = usable_link_token(store, clock, token)
    existing = relink_target(store, link)
    tenant = _log_in(store, link, existing, tenant_ref, username, password, chosen)
    renew_session(store, clock, tenant["id"])
    account_id = (
        _relink(store, clock, engine, existing, username, password)
        if existing is not None
        else _create_account(store, clock, link, tenant, username, password, base_url)
    )
    public = secrets.token_urlsafe(24)
    with store.write() as conn:
        conn.execute("UPDATE link_tokens SET used_at = ? WHERE token = ?", (clock.now_iso(), token))
        conn.execute(
            "INSERT INTO public_tokens (token, linked_account_id, is_test, created_at) VALUES (?,?,?,?)",
            (public, account_id, link["is_test"], clock.now_iso()),
        )
    account = accounts.get_account(store, account_id)
    engine.webhooks.emit("LinkedAccount.linked", account, linked_data(account, existing is not None))
    engine.request_sync(account_id)
    return public


def _log_in(
    store: Store,
    link: sqlite3.Row,
    existing: sqlite3.Row | None,
    tenant_ref: str,
    username: str,
    password: str,
    chosen: str | None,
) -> sqlite3.Row:
    """The provider's answer to the form; a relink always logs in to the account's own tenant."""
    tenant = get_tenant(store, existing["tenant_id"] if existing is not None else tenant_ref.strip())
    if tenant is None or tenant["category"] != link["category"]:
        raise LinkError("Invalid credentials")
    wanted = link["integration"] or (None if existing is not None else chosen)
    if wanted and tenant["provider"] != wanted:
        raise LinkError("Invalid credentials")
    if not tenant["online"]:
        raise LinkError(f"{INTEGRATIONS[tenant['provider']].name} is not responding. Try again later.", 503)
    if username != tenant["username"] or password != tenant["password"]:
        raise LinkError("Invalid credentials")
    try:
        check_permission(tenant)
    except ProviderRefusal as refusal:
        raise LinkError(f"Missing permission: {refusal.message}") from refusal
    return tenant


def _create_account(
    store: Store,
    clock: Clock,
    link: sqlite3.Row,
    tenant: sqlite3.Row,
    username: str,
    password: str,
    base_url: str,
) -> str:
    account_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    now = clock.now_iso()
    with store.write() as conn:
        conn.execute(
            "INSERT INTO linked_accounts (id, account_token, category, integration, tenant_id,"
            " end_user_origin_id,"
            " end_user_organization_name, end_user_email_address, is_test, status, completed_at, created_at,"
            " username, password, webhook_listener_url) VALUES (?,?,?,?,?,?,?,?,?,'COMPLETE',?,?,?,?,?)",
            (
                account_id,
                token,
                link["category"],
                tenant["provider"],
                tenant["id"],
                link["end_user_origin_id"],
                link["end_user_organization_name"],
                link["end_user_email_address"],
                link["is_test"],
                now,
                now,
                username,
                password,
                f"{base_url}/api/integrations/webhook-listener/{secrets.token_hex(12)}",
            ),
        )
    return account_id


def _relink(
    store: Store, clock: Clock, engine: SyncEngine, account: sqlite3.Row, username: str, password: str
) -> str:
    """Same id and account token; fresh credentials; every ongoing issue resolved at once."""
    now = clock.now_iso()
    with store.write() as conn:
        conn.execute(
            "UPDATE linked_accounts SET status = 'COMPLETE', status_detail = '', username = ?, password = ?,"
            " completed_at = ?, next_sync_start = NULL WHERE id = ?",
            (username, password, now, account["id"]),
        )
    updated = accounts.get_account(store, account["id"])
    for issue in issues.resolve_issues(store, account["id"], now):
        engine.webhooks.emit("Issue.resolved", updated, issues.issue_view(issue, updated))
    return str(account["id"])


def linked_data(account: sqlite3.Row | None, relinked: bool) -> dict[str, Any]:
    if account is None:
        return {}
    return {
        "account_token": account["account_token"],
        "linked_account_id": account["id"],
        "is_relink": relinked,
        "integration_name": INTEGRATIONS[account["integration"]].name,
    }


def exchange_public_token(store: Store, clock: Clock, public_token: str, is_test: bool) -> sqlite3.Row:
    row = store.one("SELECT * FROM public_tokens WHERE token = ?", (public_token,))
    if row is None or row["used_at"] is not None or bool(row["is_test"]) != is_test:
        raise LinkError("Not found.", 404)
    with store.write() as conn:
        conn.execute("UPDATE public_tokens SET used_at = ? WHERE token = ?", (clock.now_iso(), public_token))
    account = accounts.get_account(store, row["linked_account_id"])
    if account is None:
        raise LinkError("Not found.", 404)
    return account

"""Linked accounts: how Merge presents them in its API and in webhooks."""

from __future__ import annotations

import sqlite3
from typing import Any

from merge_sandbox.catalog import INTEGRATIONS
from merge_sandbox.store import Store

STATUSES = ("COMPLETE", "INCOMPLETE", "RELINK_NEEDED", "IDLE")


def account_type(account: sqlite3.Row) -> str:
    return "TEST" if account["is_test"] else "PRODUCTION"


def is_duplicate(account: sqlite3.Row) -> bool | None:
    return None if account["is_test"] else False


def get_account(store: Store, account_id: str) -> sqlite3.Row | None:
    return store.one("SELECT * FROM linked_accounts WHERE id = ? AND deleted = 0", (account_id,))


def by_token(store: Store, token: str) -> sqlite3.Row | None:
    return store.one("SELECT * FROM linked_accounts WHERE account_token = ? AND deleted = 0", (token,))


def find_for_origin(store: Store, origin_id: str, category: str, is_test: bool) -> sqlite3.Row | None:
    return store.one(
        "SELECT * FROM linked_accounts WHERE end_user_origin_id = ? AND category = ? AND is_test = ?"
        " AND deleted = 0",
        (origin_id, category, int(is_test)),
    )


def details_view(account: sqlite3.Row) -> dict[str, Any]:
    """`GET account-details`."""
    integration = INTEGRATIONS[account["integration"]]
    return {
        "id": account["id"],
        "integration": integration.name,
        "integration_slug": integration.slug,
        "category": account["category"],
        "end_user_origin_id": account["end_user_origin_id"],
        "end_user_organization_name": account["end_user_organization_name"],
        "end_user_email_address": account["end_user_email_address"],
        "status": account["status"],
        "webhook_listener_url": account["webhook_listener_url"],
        "is_duplicate": is_duplicate(account),
        "account_type": account_type(account),
        "completed_at": account["completed_at"],
        "instance_id": None,
        "instance_display_value": None,
    }


def list_item_view(account: sqlite3.Row, subdomain: str, base_url: str) -> dict[str, Any]:
    """An item of `GET linked-accounts`."""
    integration = INTEGRATIONS[account["integration"]]
    return {
        "id": account["id"],
        "category": account["category"],
        "status": account["status"],
        "status_detail": account["status_detail"],
        "end_user_origin_id": account["end_user_origin_id"],
        "end_user_organization_name": account["end_user_organization_name"],
        "end_user_email_address": account["end_user_email_address"],
        "subdomain": subdomain,
        "webhook_listener_url": account["webhook_listener_url"],
        "is_duplicate": is_duplicate(account),
        "integration": integration.linked_account_integration(base_url),
        "account_type": account_type(account),
        "completed_at": account["completed_at"],
        "integration_specific_fields": {},
    }


def webhook_view(account: sqlite3.Row) -> dict[str, Any]:
    """The `linked_account` object in webhook bodies."""
    view = details_view(account)
    view.pop("instance_id")
    view.pop("instance_display_value")
    return view


def set_status(store: Store, account_id: str, status: str, detail: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    with store.write() as conn:
        conn.execute(
            "UPDATE linked_accounts SET status = ?, status_detail = ? WHERE id = ?",
            (status, detail, account_id),
        )

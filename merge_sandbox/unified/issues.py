"""Issues: one per problem per linked account, updated on repeat failures, resolved on recovery."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from typing import Any

import orjson

from merge_sandbox.store import Store

DESCRIPTIONS = {
    "credentials": "Invalid login credentials",
    "expired_credential": "Expired API credentials",
    "permission": "Missing permission",
    "mfa": "Expired multi-factor authentication",
    "offline": "Third party offline",
}
# Merge resolves an issue once requests succeed and at least this long has passed since its last failure.
QUIET_BEFORE_RESOLVED = dt.timedelta(days=1)
RELINK_CAUSES = {"credentials", "expired_credential", "permission", "mfa"}
STATUS_DETAILS = {
    "credentials": "The integration's login credentials are no longer valid. Relink the account with current"
    " credentials.",
    "expired_credential": "The integration's API credentials have expired. Relink the account to issue"
    " new ones.",
    "permission": "The integration user is missing a required permission. Grant it, then relink the account.",
    "mfa": "Multi-factor authentication for the integration user has expired. Relink the account.",
}


def issue_view(row: sqlite3.Row, account: sqlite3.Row | None) -> dict[str, Any]:
    end_user: dict[str, Any] = {}
    if account is not None:
        end_user = {
            "end_user_origin_id": account["end_user_origin_id"],
            "organization_name": account["end_user_organization_name"],
            "email_address": account["end_user_email_address"],
            "linked_account_id": account["id"],
        }
    return {
        "id": row["id"],
        "status": row["status"],
        "error_description": row["error_description"],
        "end_user": end_user,
        "first_incident_time": row["first_incident_time"],
        "last_incident_time": row["last_incident_time"],
        "is_muted": bool(row["is_muted"]),
        "error_details": orjson.loads(row["error_details"]),
    }


def open_issue(
    store: Store, account_id: str, cause: str, detail: str, now: str, description: str | None = None
) -> tuple[sqlite3.Row, bool]:
    """Record a failure; returns the issue and whether it is new (and so deserves Issue.new)."""
    with store.write() as conn:
        row = conn.execute(
            "SELECT * FROM issues WHERE account_id = ? AND cause = ? AND status = 'ONGOING'",
            (account_id, cause),
        ).fetchone()
        if row is not None:
            details = orjson.loads(row["error_details"])
            if detail not in details:
                details.append(detail)
            conn.execute(
                "UPDATE issues SET last_incident_time = ?, error_details = ? WHERE id = ?",
                (now, orjson.dumps(details[-10:]).decode(), row["id"]),
            )
            issue_id, new = row["id"], False
        else:
            issue_id, new = str(uuid.uuid4()), True
            seq = conn.execute("SELECT COALESCE(MAX(created_seq), 0) + 1 FROM issues").fetchone()[0]
            conn.execute(
                "INSERT INTO issues (id, account_id, status, cause, error_description, error_details,"
                " first_incident_time, last_incident_time, created_seq) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    issue_id,
                    account_id,
                    "ONGOING",
                    cause,
                    description or DESCRIPTIONS.get(cause, cause),
                    orjson.dumps([detail] if detail else []).decode(),
                    now,
                    now,
                    seq,
                ),
            )
        result = conn.execute("SELECT * FROM issues WHERE id = ?", (issue_id,)).fetchone()
    return result, new


def resolve_issues(
    store: Store, account_id: str, now: str, failing_since: str | None = None
) -> list[sqlite3.Row]:
    """Resolve the account's ongoing issues (a relink), or, given `failing_since`, only those whose last
    failure was before it: Merge resolves an issue once calls succeed and a day has passed since."""
    quiet = "" if failing_since is None else " AND last_incident_time <= ?"
    args = (account_id,) if failing_since is None else (account_id, failing_since)
    with store.write() as conn:
        rows = conn.execute(
            f"SELECT id FROM issues WHERE account_id = ? AND status = 'ONGOING'{quiet}",  # noqa: S608 - a fixed clause
            args,
        ).fetchall()
        ids = [r["id"] for r in rows]
        conn.executemany(
            "UPDATE issues SET status = 'RESOLVED', resolved_at = ? WHERE id = ?", [(now, i) for i in ids]
        )
        return [conn.execute("SELECT * FROM issues WHERE id = ?", (i,)).fetchone() for i in ids]

"""SQLite storage shared by the provider layer and the Merge layer.

One file holds everything so state survives restarts. Every thread gets its own connection;
writers are serialised by one process-wide lock so concurrent writes never hit SQLITE_BUSY.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, provider TEXT NOT NULL, category TEXT NOT NULL, name TEXT NOT NULL,
  subdomain TEXT NOT NULL UNIQUE, domain TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL,
  credential_id TEXT NOT NULL, credential_expires_at TEXT NOT NULL, permissions TEXT NOT NULL,
  mfa_expires_at TEXT, online INTEGER NOT NULL DEFAULT 1, seed INTEGER NOT NULL, size INTEGER NOT NULL,
  rev INTEGER NOT NULL DEFAULT 0, next_number INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_objects (
  tenant_id TEXT NOT NULL, kind TEXT NOT NULL, remote_id TEXT NOT NULL, rev INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, PRIMARY KEY (tenant_id, kind, remote_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS provider_objects_rev ON provider_objects(tenant_id, rev);
CREATE TABLE IF NOT EXISTS scheduled_changes (
  id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, remote_id TEXT NOT NULL,
  effective_at TEXT NOT NULL, change TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS scheduled_due ON scheduled_changes(tenant_id, applied, effective_at);
CREATE TABLE IF NOT EXISTS linked_accounts (
  id TEXT PRIMARY KEY, account_token TEXT NOT NULL UNIQUE, category TEXT NOT NULL,
  integration TEXT NOT NULL, tenant_id TEXT NOT NULL, end_user_origin_id TEXT NOT NULL,
  end_user_organization_name TEXT NOT NULL, end_user_email_address TEXT NOT NULL,
  is_test INTEGER NOT NULL, status TEXT NOT NULL, status_detail TEXT NOT NULL DEFAULT '',
  completed_at TEXT NOT NULL, created_at TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, synced_rev INTEGER NOT NULL DEFAULT 0,
  sync_state TEXT NOT NULL DEFAULT 'SYNCING', last_sync_start TEXT, last_sync_finished TEXT,
  last_sync_result TEXT, data_fresh_as_of TEXT, next_sync_start TEXT,
  initial_sync_done INTEGER NOT NULL DEFAULT 0, rate_limit INTEGER, webhook_listener_url TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS linked_accounts_origin ON linked_accounts(end_user_origin_id, category);
CREATE TABLE IF NOT EXISTS link_tokens (
  token TEXT PRIMARY KEY, category TEXT NOT NULL, end_user_origin_id TEXT NOT NULL,
  end_user_organization_name TEXT NOT NULL, end_user_email_address TEXT NOT NULL, integration TEXT,
  is_test INTEGER NOT NULL, magic INTEGER NOT NULL, expires_at TEXT NOT NULL, used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS public_tokens (
  token TEXT PRIMARY KEY, linked_account_id TEXT NOT NULL, is_test INTEGER NOT NULL, used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS common (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL,
  model TEXT NOT NULL, remote_id TEXT NOT NULL, created_at TEXT NOT NULL, modified_at TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, hash BLOB NOT NULL, doc TEXT NOT NULL, raw TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS common_page ON common(account_id, model, seq, deleted, modified_at, created_at);
CREATE TABLE IF NOT EXISTS issues (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL, status TEXT NOT NULL, cause TEXT NOT NULL,
  error_description TEXT NOT NULL, error_details TEXT NOT NULL, first_incident_time TEXT NOT NULL,
  last_incident_time TEXT NOT NULL, is_muted INTEGER NOT NULL DEFAULT 0, resolved_at TEXT,
  created_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_account ON issues(account_id, status);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY, hook_id TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,
  account_id TEXT, body BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL, attempt_log TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL,
  fault TEXT
);
CREATE INDEX IF NOT EXISTS webhook_pending ON webhook_deliveries(state, next_attempt_at);
"""


class Store:
    """Owns the database path, per-thread connections and the write lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        conn = self.conn()
        conn.executescript(SCHEMA)

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA cache_size=-32768")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction under the process-wide write lock."""
        with self._write_lock:
            conn = self.conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn().execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        return self.conn().execute(sql, params).fetchall()

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return default if row is None else orjson.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value ="
                " excluded.value",
                (key, orjson.dumps(value).decode()),
            )

"""Merge's own sync: pull what changed at the provider into Merge's copy of the common models.

`modified_at` moves only here, and only for records whose common-model fields actually changed.
A per-account lock makes a second run wait instead of interleaving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from merge_sandbox.catalog import INTEGRATIONS
from merge_sandbox.clock import Clock, iso
from merge_sandbox.provider import people
from merge_sandbox.provider.tenants import ProviderRefusal, check_access, get_tenant
from merge_sandbox.settings import Config
from merge_sandbox.store import Store
from merge_sandbox.unified import issues
from merge_sandbox.unified.accounts import get_account
from merge_sandbox.unified.models import BY_KIND, ModelSpec, Refs, merge_id, models_for, wrap
from merge_sandbox.unified.webhooks import Webhooks

BATCH = 2000
MAX_OBJECT_EVENTS = 5000


@dataclass
class Pulled:
    added: int = 0
    changed: int = 0
    removed: int = 0
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class SyncEngine:
    def __init__(self, store: Store, clock: Clock, config: Config, webhooks: Webhooks) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.webhooks = webhooks
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self._queue: queue.Queue[str] = queue.Queue()
        self._queued: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _lock(self, account_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks[account_id]

    def sync_account(self, account_id: str) -> dict[str, Any]:
        # A sync run now supersedes one still waiting in the queue for the same account.
        with self._locks_guard:
            self._queued.discard(account_id)
        with self._lock(account_id):
            account = get_account(self.store, account_id)
            if account is None:
                return {
                    "linked_account_id": account_id,
                    "result": "SKIPPED",
                    "reason": "no such linked account",
                }
            if account["status"] == "RELINK_NEEDED":
                return {"linked_account_id": account_id, "result": "SKIPPED", "reason": "relink needed"}
            return self._run(account)

    def _run(self, account: sqlite3.Row) -> dict[str, Any]:
        now = self.clock.now()
        self._mark(
            account["id"],
            "UPDATE linked_accounts SET sync_state = 'SYNCING', last_sync_start = ? WHERE id = ?",
            (iso(now),),
        )
        self._stop.wait(self.config.current.sync_duration)
        tenant = get_tenant(self.store, account["tenant_id"])
        assert tenant is not None
        people.apply_due_changes(self.store, self.clock, tenant["id"])
        tenant = get_tenant(self.store, account["tenant_id"])
        assert tenant is not None
        try:
            check_access(tenant, account["username"], account["password"], now)
        except ProviderRefusal as refusal:
            return self._fail(account, refusal, now)
        pulled = self._pull(account)
        return self._succeed(account, pulled, now)

    def _mark(self, account_id: str, sql: str, params: tuple[Any, ...]) -> None:
        with self.store.write() as conn:
            conn.execute(sql, (*params, account_id))

    def _next_start(self, now: dt.datetime) -> str:
        return iso(now + dt.timedelta(seconds=self.config.current.sync_interval or 86400))

    def _fail(self, account: sqlite3.Row, refusal: ProviderRefusal, now: dt.datetime) -> dict[str, Any]:
        stamp = iso(now)
        issue, new = issues.open_issue(self.store, account["id"], refusal.cause, refusal.message, stamp)
        relink = refusal.cause in issues.RELINK_CAUSES
        status = "RELINK_NEEDED" if relink else account["status"]
        detail = issues.STATUS_DETAILS[refusal.cause] if relink else account["status_detail"]
        self._mark(
            account["id"],
            "UPDATE linked_accounts SET sync_state = 'FAILED', last_sync_result = 'FAILED',"
            " last_sync_finished = ?, next_sync_start = ?, status = ?, status_detail = ? WHERE id = ?",
            (stamp, self._next_start(now), status, detail),
        )
        updated = get_account(self.store, account["id"])
        if new:
            self.webhooks.emit("Issue.new", updated, issues.issue_view(issue, updated))
        return {
            "linked_account_id": account["id"],
            "result": "FAILED",
            "status": status,
            "issue": issues.issue_view(issue, updated),
            "reason": refusal.message,
        }

    def _succeed(self, account: sqlite3.Row, pulled: Pulled, now: dt.datetime) -> dict[str, Any]:
        finished = self.clock.now_iso()
        initial = not account["initial_sync_done"]
        self._mark(
            account["id"],
            "UPDATE linked_accounts SET sync_state = 'DONE', last_sync_result = 'DONE',"
            " last_sync_finished = ?, data_fresh_as_of = ?, next_sync_start = ?, initial_sync_done = 1"
            " WHERE id = ?",
            (finished, iso(now), self._next_start(now)),
        )
        updated = get_account(self.store, account["id"])
        quiet_since = iso(self.clock.now() - issues.QUIET_BEFORE_RESOLVED)
        for issue in issues.resolve_issues(self.store, account["id"], finished, failing_since=quiet_since):
            self.webhooks.emit("Issue.resolved", updated, issues.issue_view(issue, updated))
        for event, doc in pulled.events:
            self.webhooks.emit(event, updated, doc)
        if updated is not None:
            self.webhooks.emit("LinkedAccount.sync_completed", updated, sync_completed_data(updated, initial))
        return {
            "linked_account_id": account["id"],
            "result": "DONE",
            "is_initial_sync": initial,
            "added": pulled.added,
            "changed": pulled.changed,
            "removed": pulled.removed,
        }

    def _pull(self, account: sqlite3.Row) -> Pulled:
        pulled = Pulled()
        refs = Refs(account["id"])
        since = int(account["synced_rev"])
        emit_objects = bool(account["initial_sync_done"]) and bool(self.config.current.webhook_urls)
        while True:
            rows = self.store.all(
                "SELECT kind, remote_id, rev, deleted, data FROM provider_objects WHERE tenant_id ="
                " ? AND rev > ?"
                " ORDER BY rev LIMIT ?",
                (account["tenant_id"], since, BATCH),
            )
            if not rows:
                return pulled
            since = int(rows[-1]["rev"])
            self._apply_batch(account, refs, rows, since, pulled, emit_objects)

    def _apply_batch(
        self,
        account: sqlite3.Row,
        refs: Refs,
        rows: list[sqlite3.Row],
        rev: int,
        pulled: Pulled,
        emit_objects: bool,
    ) -> None:
        candidates = _candidates(account, refs, rows)
        stamp = self.clock.now_iso()
        detects_deletions = self.config.current.detects_deletions(account["id"])
        with self.store.write() as conn:
            existing = _existing(conn, [c.object_id for c in candidates])
            inserts, updates, dropped = [], [], []
            for item in candidates:
                old = existing.get(item.object_id)
                if item.deleted and not detects_deletions:
                    if old is not None and not old["deleted"]:
                        dropped.append((item.object_id,))  # gone from the lists, flagged nowhere
                    continue
                if (old is not None and bytes(old["hash"]) == item.digest) or (old is None and item.deleted):
                    continue
                created = stamp if old is None else old["created_at"]
                doc = wrap(item.object_id, item.remote_id, created, stamp, item.deleted, item.body)
                text = orjson.dumps(doc).decode()
                if old is None:
                    inserts.append(
                        (
                            item.object_id,
                            account["id"],
                            item.spec.name,
                            item.remote_id,
                            stamp,
                            stamp,
                            0,
                            item.digest,
                            text,
                            item.raw,
                        )
                    )
                    kind = "added"
                else:
                    updates.append((stamp, int(item.deleted), item.digest, text, item.raw, item.object_id))
                    kind = "removed" if item.deleted and not old["deleted"] else "changed"
                setattr(pulled, kind, getattr(pulled, kind) + 1)
                if emit_objects and len(pulled.events) < MAX_OBJECT_EVENTS:
                    pulled.events.append((f"{item.spec.event_prefix}.{kind}", doc))
            conn.executemany(
                "INSERT INTO common (id, account_id, model, remote_id, created_at, modified_at, deleted,"
                " hash, doc, raw) VALUES (?,?,?,?,?,?,?,?,?,?)",
                inserts,
            )
            conn.executemany(
                "UPDATE common SET modified_at = ?, deleted = ?, hash = ?, doc = ?, raw = ? WHERE id = ?",
                updates,
            )
            conn.executemany("DELETE FROM common WHERE id = ?", dropped)
            conn.execute("UPDATE linked_accounts SET synced_rev = ? WHERE id = ?", (rev, account["id"]))

    def request_sync(self, account_id: str) -> None:
        with self._locks_guard:
            self._queued.add(account_id)
        self._queue.put(account_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="merge-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put("")
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                account_id = self._queue.get(timeout=0.5)
            except queue.Empty:
                account_id = ""
            with self._locks_guard:
                wanted = account_id in self._queued
            if wanted:
                self.sync_account(account_id)
            elif self.config.current.sync_interval > 0:
                self.sync_due()

    def sync_due(self) -> list[dict[str, Any]]:
        """Periodic syncs: every account whose last sync started an interval ago on the sandbox clock."""
        horizon = self.clock.now() - dt.timedelta(seconds=self.config.current.sync_interval)
        due = self.store.all(
            "SELECT id FROM linked_accounts WHERE deleted = 0 AND status != 'RELINK_NEEDED'"
            " AND (last_sync_start IS NULL OR last_sync_start <= ?)",
            (iso(horizon),),
        )
        return [self.sync_account(row["id"]) for row in due if not self._stop.is_set()]


@dataclass
class Candidate:
    """A provider record mapped to one common model, with the hash that tells whether it changed."""

    object_id: str
    spec: ModelSpec
    remote_id: str
    body: dict[str, Any]
    deleted: bool
    digest: bytes
    raw: str


def _candidates(account: sqlite3.Row, refs: Refs, rows: list[sqlite3.Row]) -> list[Candidate]:
    candidates = []
    for row in rows:
        record = orjson.loads(row["data"])
        deleted = bool(row["deleted"])
        for spec in BY_KIND.get(row["kind"], []):
            if spec.category != account["category"]:
                continue
            body = spec.build(refs, row["remote_id"], record)
            digest = hashlib.blake2b(
                orjson.dumps(body) + (b"1" if deleted else b"0"), digest_size=16
            ).digest()
            object_id = merge_id(account["id"], spec.name, row["remote_id"])
            candidates.append(
                Candidate(object_id, spec, row["remote_id"], body, deleted, digest, row["data"])
            )
    return candidates


def _existing(conn: sqlite3.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
    found: dict[str, sqlite3.Row] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT id, hash, created_at, deleted FROM common WHERE id IN ({marks})",  # noqa: S608 - only placeholders and fixed column names are interpolated
            chunk,
        ):
            found[row["id"]] = row
    return found


def sync_status_items(account: sqlite3.Row) -> list[dict[str, Any]]:
    items = []
    for spec in models_for(account["category"]):
        item: dict[str, Any] = {
            "model_name": spec.name,
            "model_id": spec.model_id,
            "last_sync_start": account["last_sync_start"],
            "next_sync_start": account["next_sync_start"],
            "last_sync_result": account["last_sync_result"],
            "last_sync_finished": account["last_sync_finished"],
            "status": account["sync_state"],
            "is_initial_sync": not account["initial_sync_done"],
            "selective_sync_configurations_usage": "IN_LAST_SYNC",
        }
        # The published schema does not allow null here, so unknown values are left out.
        items.append({k: v for k, v in item.items() if v is not None})
        items[-1].update(sync_status_reason=None, data_fresh_as_of=account["data_fresh_as_of"])
    return items


def sync_completed_data(account: sqlite3.Row, initial: bool) -> dict[str, Any]:
    return {
        "is_initial_sync": initial,
        "integration_name": INTEGRATIONS[account["integration"]].name,
        "integration_id": account["integration"],
        "sync_status": {
            item["model_id"]: {
                "last_sync_finished": item.get("last_sync_finished"),
                "last_sync_result": item.get("last_sync_result"),
                "data_fresh_as_of": item.get("data_fresh_as_of"),
                "sync_status_reason": None,
            }
            for item in sync_status_items(account)
        },
    }

"""Webhooks: signed deliveries queued in the database and sent by a background worker.

Retries follow Merge: a failure that is not a 4xx, or an answer slower than the timeout, is retried
two more times; a 4xx is never retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
import threading
import time
import uuid
from typing import Any

import httpx
import orjson

from merge_sandbox.clock import Clock
from merge_sandbox.faults import Faults
from merge_sandbox.settings import Config
from merge_sandbox.store import Store
from merge_sandbox.unified.accounts import webhook_view

MAX_ATTEMPTS = 3
HOOK_NAMESPACE = uuid.UUID("0f6f5a3e-2b1d-4f7e-8e0a-7c3f4b5d6e71")


def sign(key: str, body: bytes) -> str:
    """base64url HMAC-SHA256 of the raw body, without `=` padding."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Webhooks:
    def __init__(self, store: Store, config: Config, clock: Clock, faults: Faults) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._faults = faults
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def emit(self, event: str, account: sqlite3.Row | None, data: dict[str, Any]) -> int:
        config = self._config.current
        if not config.webhook_urls or (
            config.webhook_events is not None and event not in config.webhook_events
        ):
            return 0
        linked = webhook_view(account) if account is not None else None
        rows = []
        for url in config.webhook_urls:
            hook_id = str(uuid.uuid5(HOOK_NAMESPACE, url))
            body = orjson.dumps(
                {
                    "hook": {"id": hook_id, "event": event, "target": url},
                    "linked_account": linked,
                    "data": data,
                }
            )
            rows.extend(self._rows_for(hook_id, event, url, account, body))
        with self._store.write() as conn:
            conn.executemany(
                "INSERT INTO webhook_deliveries (hook_id, event, target, account_id, body, state,"
                " next_attempt_at,"
                " created_at, fault) VALUES (?,?,?,?,?,?,?,?,?)",
                rows,
            )
        self._wake.set()
        return len(rows)

    def _rows_for(
        self, hook_id: str, event: str, url: str, account: sqlite3.Row | None, body: bytes
    ) -> list[tuple[Any, ...]]:
        fault = self._faults.take_webhook_fault()
        now, stamp = time.time(), self._clock.now_iso()
        account_id = account["id"] if account is not None else None
        row = (hook_id, event, url, account_id, body, "pending", now, stamp, fault)
        if fault == "drop":
            return [(*row[:5], "dropped", now, stamp, fault)]
        if fault == "delay":
            return [(*row[:6], now + self._faults.state.webhook_delay_seconds, stamp, fault)]
        if fault == "duplicate":
            return [row, row]
        return [row]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                due = self._store.all(
                    "SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
                    " ORDER BY next_attempt_at, id LIMIT 20",
                    (time.time(),),
                )
                for delivery in due:
                    if self._stop.is_set():
                        return
                    self._attempt(client, delivery)
                if not due:
                    self._wake.wait(0.2)
                    self._wake.clear()

    def _attempt(self, client: httpx.Client, delivery: sqlite3.Row) -> None:
        config = self._config.current
        body = bytes(delivery["body"])
        headers = {
            "Content-Type": "application/json",
            "X-Merge-Webhook-Signature": sign(config.webhook_key, body),
        }
        started = time.monotonic()
        outcome: dict[str, Any] = {"at": self._clock.now_iso()}
        status: int | None = None
        try:
            response = client.post(
                delivery["target"], content=body, headers=headers, timeout=config.webhook_timeout
            )
            status = response.status_code
            outcome["status_code"] = status
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__
        elapsed = time.monotonic() - started
        outcome["elapsed_ms"] = round(elapsed * 1000, 1)
        attempts = int(delivery["attempts"]) + 1
        slow = elapsed > config.webhook_timeout
        if status is not None and 200 <= status < 300 and not slow:
            state, retry_at = "delivered", 0.0
        elif (status is not None and 400 <= status < 500) or attempts >= MAX_ATTEMPTS:
            state, retry_at = "failed", 0.0
        else:
            state, retry_at = "pending", time.time() + config.webhook_retry_delay * attempts
        log = [*orjson.loads(delivery["attempt_log"]), outcome]
        with self._store.write() as conn:
            conn.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, attempt_log = ?"
                " WHERE id = ?",
                (state, attempts, retry_at, orjson.dumps(log).decode(), delivery["id"]),
            )


def delivery_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event": row["event"],
        "target": row["target"],
        "linked_account_id": row["account_id"],
        "state": row["state"],
        "attempts": row["attempts"],
        "responses": orjson.loads(row["attempt_log"]),
        "created_at": row["created_at"],
        "fault": row["fault"],
        "body": orjson.loads(bytes(row["body"])),
    }

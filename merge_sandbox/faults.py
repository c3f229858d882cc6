"""Merge platform faults the sandbox can inject: outages, rate limits, latency, bad pages, drift.

The state lives in memory for speed (it is read on every API request) and is persisted so an
outage set before a restart is still there after it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from merge_sandbox.store import Store

PLANS = {"launch": 100, "professional": 400, "enterprise": 600}
OUTAGE_MODES = ("500", "502", "503", "504", "timeout", "refuse")
PAGE_FAULTS = ("truncate", "malformed", "html")
# Faults of a list that still parses: records left out of a page, a `next` of null before the end, a page
# served twice, the page after this one served first.
LIST_FAULTS = ("omit", "end_early", "repeat", "reorder")
WEBHOOK_FAULTS = ("drop", "duplicate", "delay")
IP_BLOCK_FAILURES = 20
IP_BLOCK_WINDOW = 10.0


@dataclass
class FaultState:
    outage: str | None = None
    outage_hang_seconds: float = 65.0
    # An outage that starts after this many more API requests are served: mid-run, at a chosen request.
    outage_armed: str | None = None
    outage_after_requests: int = 0
    rate_limit_per_minute: int | None = None
    account_rate_limits: dict[str, int] = field(default_factory=dict)
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    page_fault: str | None = None
    page_fault_remaining: int = 0
    list_fault: str | None = None
    list_fault_remaining: int = 0
    list_fault_model: str = "Employee"
    list_fault_after: int = 0  # pages of the model served as they are before the fault begins
    # Merge may return fewer records than page_size asks for: this many at most, so that lists have pages.
    page_size_cap: int | None = None
    drift_extra_fields: bool = False
    drift_unknown_enums: bool = False
    webhook_fault: str | None = None
    webhook_fault_remaining: int = 0
    webhook_delay_seconds: float = 10.0
    # Merge's global limit: more than IP_BLOCK_FAILURES error responses (>= 400, 429 aside) to one client IP
    # in a rolling window (Merge's is 10 s) block that IP; off by default, like the per-account rate limits.
    ip_block: bool = False
    ip_block_seconds: float = 60.0
    ip_block_window_seconds: float = IP_BLOCK_WINDOW  # Merge's; longer lets a slow machine's tests count


class Faults:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        stored = store.get_meta("faults", {})
        known = FaultState.__dataclass_fields__
        self.state = FaultState(**{k: v for k, v in stored.items() if k in known})
        self._windows: dict[str, deque[float]] = {}
        self._failures: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.state)

    def update(self, changes: dict[str, Any]) -> FaultState:
        with self._lock:
            values = asdict(self.state)
            unknown = set(changes) - set(values)
            if unknown:
                raise KeyError(", ".join(sorted(unknown)))
            values.update(changes)
            candidate = FaultState(**values)
            _validate(candidate)
            self.state = candidate
            self._store.set_meta("faults", asdict(self.state))
            return self.state

    def clear(self) -> FaultState:
        with self._lock:
            self.state = FaultState()
            self._windows.clear()
            self._failures.clear()
            self._blocked.clear()
            self._store.set_meta("faults", asdict(self.state))
            return self.state

    def limit_for(self, account_id: str) -> int | None:
        return self.state.account_rate_limits.get(account_id, self.state.rate_limit_per_minute)

    def take_request(self, account_id: str, now: float) -> float | None:
        """Count one request against the account's limit over a rolling minute (on the sandbox clock, so
        tests move the clock instead of waiting); seconds to wait if over it."""
        limit = self.limit_for(account_id)
        if limit is None:
            return None
        with self._lock:
            recent = self._windows.setdefault(account_id, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= limit:
                return max(1.0, recent[0] + 60 - now)
            recent.append(now)
        return None

    def count_api_request(self) -> None:
        """One API request served; an armed outage starts once its count of requests has been served."""
        if not self.state.outage_armed:
            return
        with self._lock:
            self.state.outage_after_requests -= 1
            if self.state.outage_after_requests <= 0:
                self.state.outage, self.state.outage_armed = self.state.outage_armed, None
                self.state.outage_after_requests = 0
            self._store.set_meta("faults", asdict(self.state))

    def ip_blocked_for(self, ip: str, now: float) -> float | None:
        """Seconds (on the sandbox clock) until this client IP may call again, if it is blocked."""
        with self._lock:
            until = self._blocked.get(ip)
            if until is None or until <= now:
                self._blocked.pop(ip, None)
                return None
            return until - now

    def count_response(self, ip: str, status: int, now: float) -> None:
        """Count an error response towards Merge's per-IP limit; past it, the IP is blocked for a while."""
        if not self.state.ip_block or status < 400 or status == 429:
            return
        with self._lock:
            failures = self._failures.setdefault(ip, deque())
            failures.append(now)
            while failures and failures[0] <= now - self.state.ip_block_window_seconds:
                failures.popleft()
            if len(failures) > IP_BLOCK_FAILURES:
                self._blocked[ip] = now + self.state.ip_block_seconds
                failures.clear()

    def ip_blocks(self, now: float) -> dict[str, Any]:
        with self._lock:
            blocked = {ip: round(until - now, 3) for ip, until in self._blocked.items() if until > now}
            window = self.state.ip_block_window_seconds
            failing = {ip: sum(1 for t in f if t > now - window) for ip, f in self._failures.items()}
        return {"blocked_seconds": blocked, "failures_in_window": failing}

    def take_page_fault(self) -> str | None:
        with self._lock:
            if not self.state.page_fault or self.state.page_fault_remaining <= 0:
                return None
            self.state.page_fault_remaining -= 1
            mode = self.state.page_fault
            if self.state.page_fault_remaining == 0:
                self.state.page_fault = None
            self._store.set_meta("faults", asdict(self.state))
            return mode

    def take_list_fault(self, model: str) -> str | None:
        """The list fault for this page of `model` (Employee, User, ...), if one is still to be served."""
        with self._lock:
            state = self.state
            if not state.list_fault or state.list_fault_remaining <= 0 or state.list_fault_model != model:
                return None
            if state.list_fault_after > 0:
                state.list_fault_after -= 1
                self._store.set_meta("faults", asdict(state))
                return None
            state.list_fault_remaining -= 1
            mode = state.list_fault
            if state.list_fault_remaining == 0:
                state.list_fault = None
            self._store.set_meta("faults", asdict(state))
            return mode

    def take_webhook_fault(self) -> str | None:
        with self._lock:
            if not self.state.webhook_fault or self.state.webhook_fault_remaining <= 0:
                return None
            self.state.webhook_fault_remaining -= 1
            mode = self.state.webhook_fault
            if self.state.webhook_fault_remaining == 0:
                self.state.webhook_fault = None
            self._store.set_meta("faults", asdict(self.state))
            return mode


def _validate(state: FaultState) -> None:
    for mode in (state.outage, state.outage_armed):
        if mode is not None and mode not in OUTAGE_MODES:
            raise ValueError(f"outage must be one of {', '.join(OUTAGE_MODES)}")
    if state.outage_after_requests < 0:
        raise ValueError("after_requests must not be negative")
    if state.page_fault is not None and state.page_fault not in PAGE_FAULTS:
        raise ValueError(f"page_fault must be one of {', '.join(PAGE_FAULTS)}")
    if state.list_fault is not None and state.list_fault not in LIST_FAULTS:
        raise ValueError(f"list_fault must be one of {', '.join(LIST_FAULTS)}")
    if state.page_size_cap is not None and (
        not isinstance(state.page_size_cap, int) or state.page_size_cap < 1
    ):
        raise ValueError("page_size_cap must be a positive integer")
    if state.webhook_fault is not None and state.webhook_fault not in WEBHOOK_FAULTS:
        raise ValueError(f"webhook_fault must be one of {', '.join(WEBHOOK_FAULTS)}")
    limits = [state.rate_limit_per_minute, *state.account_rate_limits.values()]
    if any(limit is not None and (not isinstance(limit, int) or limit < 1) for limit in limits):
        raise ValueError("rate limits must be positive integers (requests per minute)")
    if state.ip_block_seconds <= 0 or state.ip_block_window_seconds <= 0:
        raise ValueError("ip_block_seconds and ip_block_window_seconds must be positive")
    if state.latency_ms < 0 or state.latency_jitter_ms < 0:
        raise ValueError("latency must not be negative")

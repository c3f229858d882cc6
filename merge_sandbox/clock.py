"""The sandbox's own clock: real UTC time plus an offset that only moves forward.

Advancing it lets tests make credentials, link tokens and future-dated terminations expire
without waiting. The offset is persisted so it survives restarts.
"""

from __future__ import annotations

import datetime as dt
import threading

from merge_sandbox.store import Store

UTC = dt.UTC


def iso(moment: dt.datetime) -> str:
    """Merge-style timestamp; fixed width so stored strings compare in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_date(day: dt.date) -> str:
    """Merge sends dates as midnight UTC date-times."""
    return f"{day.isoformat()}T00:00:00Z"


def parse_iso(value: str) -> dt.datetime:
    """Accept `Z`, offsets and naive values (naive is taken as UTC); raise ValueError otherwise."""
    text = value.strip().replace(" ", "+") if "T" in value else value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._offset = float(store.get_meta("clock_offset", 0.0))

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC) + dt.timedelta(seconds=self._offset)

    def now_iso(self) -> str:
        return iso(self.now())

    def advance(self, seconds: float) -> dt.datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
            self._store.set_meta("clock_offset", self._offset)
        return self.now()

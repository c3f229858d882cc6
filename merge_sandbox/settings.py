"""Start-up options (arguments and environment) and the runtime config the control API can change."""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from merge_sandbox.store import Store

DEFAULT_PORT = 8765


@dataclass
class Keys:
    """API keys are fixed for the life of the process, like Merge's dashboard keys."""

    production: str = "sandbox-production-key"
    test: str = "sandbox-test-key"

    @classmethod
    def from_env(cls) -> Keys:
        return cls(
            production=os.environ.get("MERGE_SANDBOX_API_KEY", cls.production),
            test=os.environ.get("MERGE_SANDBOX_TEST_API_KEY", cls.test),
        )


@dataclass
class RuntimeConfig:
    webhook_urls: list[str] = field(default_factory=list)
    webhook_key: str = "sandbox-webhook-key"
    webhook_events: list[str] | None = None
    sync_interval: float = 60.0
    # How long Merge's read of a provider takes once started (real Merge: minutes for a large tenant); its
    # sync status says SYNCING meanwhile and the new data appears at the end.
    sync_duration: float = 0.0
    webhook_timeout: float = 30.0
    webhook_retry_delay: float = 2.0
    # Merge's deletion detection is an add-on: without it a record deleted at the provider simply drops out
    # of Merge's lists and `remote_was_deleted` is never true. Off for every account, or for these ones.
    deletion_detection: bool = True
    deletion_detection_off: list[str] = field(default_factory=list)

    def detects_deletions(self, account_id: str) -> bool:
        return self.deletion_detection and account_id not in self.deletion_detection_off


ENV_OVERRIDES = {
    "MERGE_SANDBOX_WEBHOOK_KEY": "webhook_key",
    "MERGE_SANDBOX_WEBHOOK_URL": "webhook_urls",
    "MERGE_SANDBOX_SYNC_INTERVAL": "sync_interval",
}


class Config:
    """Runtime config persisted in the database; values given at start-up win over stored ones."""

    def __init__(self, store: Store, overrides: dict[str, Any]) -> None:
        self._store = store
        self._lock = threading.Lock()
        stored = store.get_meta("config", {})
        known = {f.name for f in fields(RuntimeConfig)}
        self.current = RuntimeConfig(**{k: v for k, v in stored.items() if k in known})
        self.update(overrides)

    def update(self, changes: dict[str, Any]) -> RuntimeConfig:
        with self._lock:
            values = asdict(self.current)
            for key, value in changes.items():
                if key not in values:
                    raise KeyError(key)
                values[key] = _coerce(key, value)
            self.current = RuntimeConfig(**values)
            self._store.set_meta("config", asdict(self.current))
            return self.current

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.current)


def _coerce(key: str, value: Any) -> Any:
    if key == "webhook_urls":
        if value is None or value == "":
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]
    if key in {"sync_interval", "sync_duration", "webhook_timeout", "webhook_retry_delay"}:
        number = float(value)
        if number < 0:
            raise ValueError(f"{key} must not be negative")
        return number
    if key == "deletion_detection":
        if not isinstance(value, bool) and str(value).lower() not in {"true", "false", "1", "0"}:
            raise ValueError("deletion_detection must be true or false")
        return value if isinstance(value, bool) else str(value).lower() in {"true", "1"}
    if key == "deletion_detection_off":
        return [] if value in (None, "") else [str(v) for v in ([value] if isinstance(value, str) else value)]
    if key == "webhook_events":
        return None if value is None else [str(v) for v in value]
    return str(value)


def env_overrides() -> dict[str, Any]:
    return {name: os.environ[env] for env, name in ENV_OVERRIDES.items() if os.environ.get(env)}

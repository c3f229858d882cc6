"""Everything a request handler needs, built once per server."""

from __future__ import annotations

from dataclasses import dataclass

from merge_sandbox.clock import Clock
from merge_sandbox.faults import Faults
from merge_sandbox.settings import Config, Keys
from merge_sandbox.store import Store
from merge_sandbox.unified.sync import SyncEngine
from merge_sandbox.unified.webhooks import Webhooks


@dataclass
class Sandbox:
    store: Store
    clock: Clock
    config: Config
    faults: Faults
    keys: Keys
    webhooks: Webhooks
    engine: SyncEngine

    @classmethod
    def open(cls, db_path: str, keys: Keys, overrides: dict[str, object]) -> Sandbox:
        store = Store(db_path)
        clock = Clock(store)
        config = Config(store, dict(overrides))
        faults = Faults(store)
        webhooks = Webhooks(store, config, clock, faults)
        engine = SyncEngine(store, clock, config, webhooks)
        return cls(store, clock, config, faults, keys, webhooks, engine)

    def start(self) -> None:
        self.webhooks.start()
        self.engine.start()

    def stop(self) -> None:
        self.engine.stop()
        self.webhooks.stop()

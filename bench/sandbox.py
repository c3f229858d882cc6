"""A Merge sandbox of the bench's own, in a temporary folder, and the control calls the bench makes to it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from merge_sandbox import launch

API_KEY = "sandbox-production-key"


@contextmanager
def running_sandbox(workdir: Path) -> Iterator[tuple[str, int]]:
    """Yield the sandbox's URL and pid; periodic Merge syncs are off so that only the bench moves data."""
    env = {"MERGE_SANDBOX_API_KEY": API_KEY}
    with launch.running_sandbox(workdir / "sandbox.sqlite3", env=env, log=workdir / "sandbox.log") as sandbox:
        yield sandbox.url, sandbox.process.pid


class Control:
    """The sandbox's control API; populating a million people takes minutes, hence no timeout."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=f"{url}/_sandbox/", timeout=None)  # noqa: S113

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} /_sandbox/{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def tenant(self, name: str, size: int, seed: int = 1) -> dict[str, Any]:
        body = {"provider": "workday", "name": name, "size": size, "seed": seed}
        return dict(self.call("POST", "tenants", body))

    def merge_sync(self, account_id: str) -> dict[str, Any]:
        return dict(self.call("POST", "sync", {"linked_account_id": account_id})["results"][0])

    def rate_limit(self, account_id: str, per_minute: int | None) -> None:
        self.call("PUT", f"linked-accounts/{account_id}/rate-limit", {"per_minute": per_minute})

    def remote_ids(self, tenant_id: str) -> list[str]:
        ids: list[str] = []
        after = ""
        while True:
            page = self.call("GET", f"tenants/{tenant_id}/people?limit=1000&after={after}")
            ids += [str(p["remote_id"]) for p in page["results"]]
            if not page["next_after"]:
                return ids
            after = page["next_after"]

    def change_people(self, tenant_id: str, remote_ids: list[str], count: int, mark: str) -> list[str]:
        """Change the last name of `count` people picked at random (seeded): a field the directory maps."""
        chosen = random.Random(mark).sample(remote_ids, count)
        for remote_id in chosen:
            person = self.call("GET", f"tenants/{tenant_id}/people/{remote_id}")
            base = str(person.get("last_name") or "").split("~")[0]
            self.call("PATCH", f"tenants/{tenant_id}/people/{remote_id}", {"last_name": f"{base}~{mark}"})
        return chosen

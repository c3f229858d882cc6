"""The measured scenarios. Every Skillibrium run starts from a copy of the freshly linked template."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.child import run_child
from bench.database import Server, database, migrate
from bench.report import median, ratio
from bench.sandbox import Control

TEMPLATE = "skillibrium_bench"
RUN_DB = "skillibrium_bench_run"
DLT_DB = "skillibrium_bench_dlt"
PEOPLE_DB = "skillibrium_bench_people"
UI_DB = "skillibrium_bench_ui"
# Every run asks for account-details (is a relink needed?) and sync-status (is Merge mid-sync?).
FIXED_OVERHEAD_REQUESTS = 2


@dataclass
class Linked:
    tenant: dict[str, Any]
    integration_id: int
    account_id: str
    token: str
    merge_sync_s: float = 0.0


@dataclass
class Stage:
    sandbox: str
    control: Control
    server: Server
    env: dict[str, str]
    workdir: Path
    log: Path
    linked: dict[str, Linked] = field(default_factory=dict)

    def child(self, args: list[str], **env: str) -> dict[str, Any]:
        return run_child(args, self.env | env, self.log)

    def link(self, key: str, name: str, size: int) -> Linked:
        tenant = self.control.tenant(name, size)
        out = self.child(
            ["link", "--sandbox", self.sandbox, "--tenant", json.dumps(tenant)], DATABASE_URL=self.template
        )
        started = time.perf_counter()
        self.control.merge_sync(out["account_id"])
        linked = Linked(tenant, out["integration_id"], out["account_id"], out["account_token"])
        linked.merge_sync_s = round(time.perf_counter() - started, 1)
        self.linked[key] = linked
        return linked

    @property
    def template(self) -> str:
        return self.server.url(TEMPLATE)

    def sync(self, linked: Linked, database_url: str, trigger: str, **env: str) -> dict[str, Any]:
        args = ["sync", "--integration", str(linked.integration_id), "--trigger", trigger]
        result = self.child(args, DATABASE_URL=database_url, **env)
        if result["status"] != "succeeded":
            raise RuntimeError(f"the sync failed: {result['error']}")
        return result


def full_and_incremental_round(
    stage: Stage, number: int, changed: int, remote_ids: list[str]
) -> dict[str, Any]:
    """The floor, dlt and Skillibrium on the same pages (order rotated per round), then 1% changes."""
    linked = stage.linked["main"]
    order = ["floor", "dlt", "skillibrium"]
    order = order[number % 3 :] + order[: number % 3]
    out: dict[str, Any] = {"order": order}
    with database(stage.server, RUN_DB, TEMPLATE) as url:
        for step in order:
            if step == "floor":
                # `--token=...`: a token may begin with a dash.
                out["floor"] = stage.child(["fetch", "--sandbox", stage.sandbox, f"--token={linked.token}"])
            elif step == "dlt":
                with database(stage.server, DLT_DB) as dlt_url:
                    args = [
                        "dlt",
                        "--sandbox",
                        stage.sandbox,
                        f"--token={linked.token}",
                        "--database-url",
                        dlt_url,
                    ]
                    out["dlt"] = stage.child([*args, "--workdir", str(stage.workdir / f"dlt-{number}")])
            else:
                out["skillibrium"] = stage.sync(linked, url, "setup")
        tenant_id = str(linked.tenant["id"])
        stage.control.change_people(tenant_id, remote_ids, changed, mark=f"r{number}")
        merge = stage.control.merge_sync(linked.account_id)
        out["incremental"] = stage.sync(linked, url, "schedule")
        out["incremental"]["merge_changed"] = int(merge.get("changed", 0))
    return out


def summarise_full(rounds: list[dict[str, Any]], employees: int) -> dict[str, Any]:
    def times(step: str) -> list[float]:
        return [float(r[step]["seconds"]) for r in rounds]

    vs_dlt = [ratio(r["skillibrium"]["seconds"], r["dlt"]["seconds"]) for r in rounds]
    vs_floor = [ratio(r["skillibrium"]["seconds"], r["floor"]["seconds"]) for r in rounds]
    return {
        "employees": employees,
        "rounds_run": len(rounds),
        "median": {
            "skillibrium_s": median(times("skillibrium")),
            "dlt_s": median(times("dlt")),
            "floor_s": median(times("floor")),
            "vs_dlt": median(vs_dlt),
            "vs_floor": median(vs_floor),
        },
        "per_round": [
            {
                "order": r["order"],
                "skillibrium": r["skillibrium"],
                "dlt": r["dlt"],
                "floor": r["floor"],
                "vs_dlt": d,
                "vs_floor": f,
            }
            for r, d, f in zip(rounds, vs_dlt, vs_floor, strict=True)
        ],
    }


def summarise_incremental(rounds: list[dict[str, Any]], changed: int) -> dict[str, Any]:
    pages = math.ceil(changed / 100)
    runs = [r["incremental"] for r in rounds]
    vs_full = [ratio(r["incremental"]["seconds"], r["skillibrium"]["seconds"]) for r in rounds]
    return {
        "changed": changed,
        "minimum_pages": pages,
        "fixed_overhead_requests": FIXED_OVERHEAD_REQUESTS,
        "minimum_requests": pages + FIXED_OVERHEAD_REQUESTS,
        "median": {
            "seconds": median([float(r["seconds"]) for r in runs]),
            "vs_full": median(vs_full),
            "requests": median([float(r["requests"]) for r in runs]),
            "pages": median([float(r["pages"]) for r in runs]),
        },
        "per_round": runs,
    }


def rate_limited(stage: Stage, employees: int, per_minute: int, rounds: int) -> dict[str, Any]:
    """The sandbox enforces the plan's limit per calendar minute; each round starts in a fresh minute."""
    linked = stage.linked["rate"]
    stage.control.rate_limit(linked.account_id, per_minute)
    runs = []
    try:
        for number in range(rounds):
            if number:
                time.sleep(60 - time.time() % 60 + 0.5)
            with database(stage.server, RUN_DB, TEMPLATE) as url:
                runs.append(stage.sync(linked, url, "setup", MERGE_RATE_LIMIT_PER_MINUTE=str(per_minute)))
    finally:
        stage.control.rate_limit(linked.account_id, None)
    per_second = per_minute / 60
    pages = runs[0]["pages"]
    floor = pages / per_second
    return {
        "employees": employees,
        "per_minute": per_minute,
        "pages": pages,
        "floor_s": round(floor, 2),
        "floor_with_every_request_s": round(runs[0]["requests"] / per_second, 2),
        "median": {
            "seconds": median([float(r["seconds"]) for r in runs]),
            "vs_floor": median([ratio(r["seconds"], floor) for r in runs]),
        },
        "max_429s": max(int(r["rate_limited"]) for r in runs),
        "per_round": runs,
    }


def memory_at(stage: Stage, key: str, employees: int) -> dict[str, Any]:
    """A full sync of a large organization, run once for its worker's peak RSS (and its time)."""
    linked = stage.linked[key]
    with database(stage.server, RUN_DB, TEMPLATE) as url:
        run = stage.sync(linked, url, "setup")
        run["database_mb"] = stage.server.size_mb(RUN_DB)
    return {
        "employees": employees,
        "peak_rss_mb": run["peak_rss_mb"],
        "seconds": run["seconds"],
        "merge_sync_s": linked.merge_sync_s,
        "run": run,
    }


def directory_pages(stage: Stage, people: int) -> dict[str, Any]:
    """The People page, the first sync's summary and the vendor switch's preview (bench/directory_pages.py),
    in a database of their own: one organization of `people`, written directly, no sync."""
    with database(stage.server, PEOPLE_DB) as url:
        migrate(stage.env | {"DATABASE_URL": url})
        result = stage.child(["people", "--people", str(people)], DATABASE_URL=url)
        result["database_mb"] = stage.server.size_mb(PEOPLE_DB)
    return result


def ui_pages(stage: Stage, people: int, audit: int) -> dict[str, Any]:
    """My Org, People, the audit log, the review queue and the CSV export (bench/ui_pages.py), in a database
    of their own: one organization of `people` with `audit` entries, written directly, no sync."""
    with database(stage.server, UI_DB) as url:
        migrate(stage.env | {"DATABASE_URL": url})
        result = stage.child(["ui", "--people", str(people), "--audit", str(audit)], DATABASE_URL=url)
        result["database_mb"] = stage.server.size_mb(UI_DB)
    return result

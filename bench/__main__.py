"""`make bench` (`python -m bench`): writes bench/results.json and prints a summary against the targets.

    make bench                         # 100,000 employees x 3 rounds, rate limit, People page, sandbox
    make bench BENCH_ARGS=--million    # also the worker's peak RSS at 1,000,000 employees (long)
    make bench BENCH_ARGS="--rounds 1 --skip-sandbox-bench"
    make bench BENCH_ARGS="--only ui"  # one part alone (sync, rate, pages, ui); the others' figures are kept

Needs DATABASE_URL pointing at a PostgreSQL server (the Makefile passes TEST_DATABASE_URL); the bench creates
and drops its own databases there (skillibrium_bench*) and runs its own Merge sandbox in a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.database import Server, migrate
from bench.report import carry_over, commit, machine, now, summary
from bench.sandbox import API_KEY, Control, running_sandbox

RESULTS = Path(__file__).resolve().parent / "results.json"
# The parts of the bench and the results.json keys each writes.
PARTS = {
    "sync": ("full_sync", "incremental", "memory_100k"),
    "rate": ("rate_limited",),
    "pages": ("directory_pages",),
    "ui": ("ui_pages",),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="full + incremental rounds; medians are reported"
    )
    parser.add_argument(
        "--changed", type=int, default=0, help="people changed before the incremental run (1%%)"
    )
    parser.add_argument("--rate-employees", type=int, default=20_000)
    parser.add_argument("--rate-per-minute", type=int, default=600)
    parser.add_argument("--rate-rounds", type=int, default=2)
    parser.add_argument("--million", action="store_true", help="also a full sync of 1,000,000 employees")
    parser.add_argument("--people", type=int, default=100_000, help="the People page's organization")
    parser.add_argument("--skip-sandbox-bench", action="store_true")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable); results.json keeps the figures of the parts not run",
    )
    parser.add_argument("--audit", type=int, default=1_000_000, help="audit entries of the UI's organization")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def child_env(database_url: str, sandbox: str) -> dict[str, str]:
    """Workers run as in production (DEBUG off: no query log kept in memory), against the bench's sandbox."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "skillibrium.settings",
        "SKILLIBRIUM_DEBUG": "0",
        "SKILLIBRIUM_SECRET_KEY": secrets.token_urlsafe(32),
        "SKILLIBRIUM_LOG_LEVEL": "WARNING",
        "MERGE_API_URL": f"{sandbox}/api",
        "MERGE_LINK_SCRIPT_URL": f"{sandbox}/link/initialize.js",
        "MERGE_API_KEY": API_KEY,
        "MERGE_RATE_LIMIT_PER_MINUTE": "0",
    }


def measure(args: argparse.Namespace, server: Server, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with running_sandbox(workdir) as (url, _):
        stage = scenarios.Stage(url, Control(url), server, {}, workdir, workdir / "workers.log")
        template = server.create(scenarios.TEMPLATE)
        stage.env = child_env(template, url)
        try:
            migrate(stage.env)
            parts = set(args.only or PARTS)
            if "sync" in parts:
                results |= full_sync(args, stage)
            if "rate" in parts:
                say(f"rate-limited: {args.rate_employees:,} employees at {args.rate_per_minute}/min")
                stage.link("rate", "Bench Rate", args.rate_employees)
                results["rate_limited"] = scenarios.rate_limited(
                    stage, args.rate_employees, args.rate_per_minute, args.rate_rounds
                )
            if "pages" in parts:
                say(f"People page, first-sync summary and vendor-switch preview over {args.people:,} people")
                results["directory_pages"] = scenarios.directory_pages(stage, args.people)
            if "ui" in parts:
                say(f"the product's pages over {args.people:,} people and {args.audit:,} audit entries")
                results["ui_pages"] = scenarios.ui_pages(stage, args.people, args.audit)
            if args.million:
                say("1,000,000 employees: populating, Merge's first sync, then one full sync")
                stage.link("million", "Bench Million", 1_000_000)
                results["memory_million"] = scenarios.memory_at(stage, "million", 1_000_000)
            results["merge_first_sync_s"] = {k: v.merge_sync_s for k, v in stage.linked.items()}
        finally:
            server.drop(scenarios.TEMPLATE)
    return results


def full_sync(args: argparse.Namespace, stage: scenarios.Stage) -> dict[str, Any]:
    say(f"linking {args.employees:,} employees (Merge's first sync)")
    main = stage.link("main", "Bench Main", args.employees)
    remote_ids = stage.control.remote_ids(str(main.tenant["id"]))
    changed = args.changed or max(1, args.employees // 100)
    rounds = []
    for number in range(args.rounds):
        say(f"round {number + 1}/{args.rounds}: fetch only, dlt, Skillibrium, {changed:,} changes")
        rounds.append(scenarios.full_and_incremental_round(stage, number, changed, remote_ids))
        say(json.dumps({k: rounds[-1][k].get("seconds") for k in ("floor", "dlt", "skillibrium")}))
    peak = max(float(r["skillibrium"]["peak_rss_mb"]) for r in rounds)
    return {
        "full_sync": scenarios.summarise_full(rounds, args.employees),
        "incremental": scenarios.summarise_incremental(rounds, changed),
        "memory_100k": {"employees": args.employees, "peak_rss_mb": peak},
    }


def sandbox_bench(million: bool) -> dict[str, Any] | None:
    """The sandbox's own bench (bench/sandbox_bench.py) when it is present: page latency and server memory."""
    if importlib.util.find_spec("bench.sandbox_bench") is None:
        return None
    from bench import sandbox_bench

    result: dict[str, Any] = sandbox_bench.run(100_000, million)
    return result


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (make bench passes TEST_DATABASE_URL).")
    server = Server(url)
    workdir = Path(tempfile.mkdtemp(prefix="skillibrium-bench-"))
    results: dict[str, Any] = {"date": now(), "commit": commit(), "machine": machine()}
    results["machine"]["postgresql"] = server.version()
    try:
        results |= measure(args, server, workdir)
        if not args.skip_sandbox_bench and not args.only:
            say("the sandbox's own bench")
            box = sandbox_bench(args.million)
            if box is not None:
                results["sandbox"] = box
    except BaseException:
        say(f"failed; the workers' log is kept in {workdir / 'workers.log'}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    kept = {"memory_million", "sandbox"} | {k for p in set(PARTS) - set(args.only or PARTS) for k in PARTS[p]}
    carry_over(args.output, results, tuple(sorted(kept)))
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the Merge sandbox: page latency over 100,000 employees and peak memory at 1,000,000.

    python bench/sandbox_bench.py                # 100k population, all 1,000 pages
    python bench/sandbox_bench.py --million      # also populate and sync 1,000,000 employees

Prints one JSON object. Everything it creates lives in a temporary directory that is removed after.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from merge_sandbox import launch

KEY = "bench-production-key"
PAGE_TARGET_MS = 15.0
RSS_TARGET_MB = 1536.0


def _peak_rss_mb(pid: int) -> float:
    """VmHWM is the kernel's own high-water mark of resident memory for the process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


@contextmanager
def running_sandbox() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    workdir = Path(tempfile.mkdtemp(prefix="merge-sandbox-bench-"))
    try:
        env, log = {"MERGE_SANDBOX_API_KEY": KEY}, workdir / "sandbox.log"
        with launch.running_sandbox(workdir / "bench.sqlite3", env=env, log=log) as sandbox:
            yield sandbox.url, sandbox.process
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def populate_and_link(url: str, size: int) -> dict[str, Any]:
    """Create a tenant, link it, run Merge's initial sync; return the account token and timings."""
    client = httpx.Client(base_url=url, timeout=None)  # noqa: S113 - a million rows take minutes
    started = time.monotonic()
    tenant = client.post(
        "/_sandbox/tenants", json={"provider": "workday", "name": "Bench", "size": size, "seed": 1}
    ).json()
    populated = time.monotonic()
    link = client.post(
        "/api/hris/v1/link-token",
        headers={"Authorization": f"Bearer {KEY}"},
        json={
            "end_user_email_address": "bench@example.com",
            "end_user_organization_name": "Bench",
            "end_user_origin_id": "bench",
            "categories": ["hris"],
        },
    ).json()
    public = client.post(
        f"/_sandbox/link/{link['link_token']}/complete",
        json={"tenant": tenant["subdomain"], "username": tenant["username"], "password": tenant["password"]},
    ).json()["public_token"]
    account = client.get(
        f"/api/hris/v1/account-token/{public}", headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    client.post("/_sandbox/sync", json={"linked_account_id": account["id"]})
    return {
        "token": account["account_token"],
        "populate_s": round(populated - started, 1),
        "sync_s": round(time.monotonic() - populated, 1),
    }


def fetch_pages(url: str, token: str, limit: int | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}", "X-Account-Token": token}
    latencies, rows, cursor = [], 0, None
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while True:
            params: dict[str, Any] = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            response = client.get("/api/hris/v1/employees", params=params)
            latencies.append((time.perf_counter() - started) * 1000)
            page = response.json()
            rows += len(page["results"])
            cursor = page["next"]
            if not cursor or (limit is not None and len(latencies) >= limit):
                break
    latencies.sort()
    return {
        "pages": len(latencies),
        "employees": rows,
        "median_page_ms": round(statistics.median(latencies), 2),
        "p95_page_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "max_page_ms": round(latencies[-1], 2),
    }


def bench_pages(size: int) -> dict[str, Any]:
    with running_sandbox() as (url, process):
        linked = populate_and_link(url, size)
        pages = fetch_pages(url, linked["token"])
        result = {
            "employees_populated": size,
            "populate_s": linked["populate_s"],
            "sync_s": linked["sync_s"],
            **pages,
            "server_peak_rss_mb": _peak_rss_mb(process.pid),
        }
    result["median_page_target_ms"] = PAGE_TARGET_MS
    result["median_page_ok"] = result["median_page_ms"] <= PAGE_TARGET_MS
    return result


def bench_million() -> dict[str, Any]:
    with running_sandbox() as (url, process):
        linked = populate_and_link(url, 1_000_000)
        pages = fetch_pages(url, linked["token"], limit=200)
        peak = _peak_rss_mb(process.pid)
    return {
        "employees_populated": 1_000_000,
        "populate_s": linked["populate_s"],
        "sync_s": linked["sync_s"],
        "median_page_ms_first_200_pages": pages["median_page_ms"],
        "server_peak_rss_mb": peak,
        "peak_rss_target_mb": RSS_TARGET_MB,
        "peak_rss_ok": peak <= RSS_TARGET_MB,
    }


def run(size: int = 100_000, million: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"sandbox_pages": bench_pages(size)}
    if million:
        results["sandbox_million"] = bench_million()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000, help="employees for the page-latency run")
    parser.add_argument(
        "--million", action="store_true", help="also measure peak RSS with 1,000,000 employees"
    )
    args = parser.parse_args(argv)
    print(json.dumps(run(args.size, args.million), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

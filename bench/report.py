"""The machine, the targets, medians over rounds, and the summary printed at the end of `make bench`."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

TARGETS = {
    "full_vs_dlt": 0.5,
    "full_vs_floor": 1.3,
    "incremental_vs_full": 0.05,
    "peak_rss_mb": 300.0,
    "rate_limited_vs_floor": 1.05,
    "rate_limited_429s": 0,
    "people_page_p95_ms": 50.0,
    "ui_page_p95_ms": 50.0,
    "csv_first_byte_ms": 200.0,
    "csv_rss_growth_mb": 50.0,  # the server's peak while streaming, above its RSS before the first export
}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(kib / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return f"{head}+changes" if git("status", "--porcelain", "--untracked-files=no") else head


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else float("nan")


def carry_over(path: Path, results: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Sections not measured this time (the million run) keep their last measurement, with its own date."""
    if not path.exists():
        return
    previous = json.loads(path.read_text())
    for key in keys:
        if key not in results and key in previous:
            section = previous[key]
            section.setdefault("measured_at", previous.get("date"))
            results[key] = section


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def summary(results: dict[str, Any]) -> str:
    lines = [
        f"Skillibrium bench, {results['date']}, {results['machine']['cpu']} x{results['machine']['nproc']}"
    ]
    full = results.get("full_sync")
    if full:
        m = full["median"]
        lines += [
            f"full sync of {full['employees']:,} ({full['rounds_run']} rounds, medians): Skillibrium "
            f"{m['skillibrium_s']} s, dlt {m['dlt_s']} s, fetch only {m['floor_s']} s",
            f"  vs dlt {m['vs_dlt']} (target <= {TARGETS['full_vs_dlt']}: "
            f"{verdict(m['vs_dlt'], TARGETS['full_vs_dlt'])})",
            f"  vs floor {m['vs_floor']} (target <= {TARGETS['full_vs_floor']}: "
            f"{verdict(m['vs_floor'], TARGETS['full_vs_floor'])})",
        ]
    inc = results.get("incremental")
    if inc:
        m = inc["median"]
        lines.append(
            f"incremental after {inc['changed']:,} changes: {m['seconds']} s = {m['vs_full']} of the full "
            f"sync (target <= {TARGETS['incremental_vs_full']}: "
            f"{verdict(m['vs_full'], TARGETS['incremental_vs_full'])}); "
            f"{m['requests']} requests vs minimum {inc['minimum_requests']} "
            f"({inc['minimum_pages']} pages + {inc['fixed_overhead_requests']} fixed)"
        )
    for key in ("memory_100k", "memory_million"):
        mem = results.get(key)
        if mem:
            lines.append(
                f"peak RSS of the worker at {mem['employees']:,}: {mem['peak_rss_mb']} MB "
                f"(target <= {TARGETS['peak_rss_mb']}: {verdict(mem['peak_rss_mb'], TARGETS['peak_rss_mb'])})"
            )
    rate = results.get("rate_limited")
    if rate:
        m = rate["median"]
        lines.append(
            f"rate-limited at {rate['per_minute']}/min, {rate['employees']:,} people: {m['seconds']} s "
            f"vs floor {rate['floor_s']} s = {m['vs_floor']} (target <= {TARGETS['rate_limited_vs_floor']}: "
            f"{verdict(m['vs_floor'], TARGETS['rate_limited_vs_floor'])}); 429s: {rate['max_429s']}"
        )
    lines += directory_pages_summary(results.get("directory_pages"))
    lines += ui_pages_summary(results.get("ui_pages"))
    box = results.get("sandbox", {}).get("sandbox_pages")
    if box:
        lines.append(
            f"sandbox: median page {box['median_page_ms']} ms over {box['pages']} pages, "
            f"server peak RSS {box['server_peak_rss_mb']} MB"
        )
    return "\n".join(lines)


def directory_pages_summary(pages: dict[str, Any] | None) -> list[str]:
    if not pages:
        return []
    target = TARGETS["people_page_p95_ms"]
    lines = [f"People page over {pages['people']:,} people (p50 / p95 server time, queries, rows shown):"]
    for name, case in pages["people_page"].items():
        lines.append(
            f"  {name}: {case['p50_ms']} / {case['p95_ms']} ms (target p95 <= {target}: "
            f"{verdict(case['p95_ms'], target)}), {case['queries']} queries, {case['rows']} rows"
        )
    steps = (("first_sync_compute", "first-sync summary"), ("vendor_switch_compare", "switch preview"))
    for key, label in steps:
        step = pages[key]
        lines.append(f"{label}: {step['p50_ms']} / {step['p95_ms']} ms, {step['queries']} queries")
    return lines


def ui_pages_summary(ui: dict[str, Any] | None) -> list[str]:
    if not ui:
        return []
    target = TARGETS["ui_page_p95_ms"]
    lines = [
        f"pages over {ui['people']:,} people and {ui['audit_entries']:,} audit entries "
        "(p50 / p95 server time, queries, page size):"
    ]
    for name, case in ui["pages"].items():
        lines.append(
            f"  {name}: {case['p50_ms']} / {case['p95_ms']} ms (target p95 <= {target}: "
            f"{verdict(case['p95_ms'], target)}), {case['queries']} queries, {case['page_kb']} KB"
        )
    export = ui["csv_export"]
    growth = round(export["peak_rss_mb"] - export["rss_before_mb"], 1)
    lines.append(
        f"audit CSV under {export['server']}, {len(export['runs'])} exports of "
        f"{export['entries']:,} entries: "
        f"first byte after {export['first_byte_ms']} ms at worst (target <= {TARGETS['csv_first_byte_ms']}: "
        f"{verdict(export['first_byte_ms'], TARGETS['csv_first_byte_ms'])}); server RSS "
        f"{export['rss_before_mb']} MB before, peak {export['peak_rss_mb']} MB (+{growth}, target <= "
        f"{TARGETS['csv_rss_growth_mb']}: {verdict(growth, TARGETS['csv_rss_growth_mb'])}), "
        f"{export['rss_after_mb']} MB after"
    )
    return lines

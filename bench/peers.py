"""What the engine is measured against: fetching alone (the floor) and dlt's REST API source (a peer)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.sandbox import API_KEY

# The same request as the engine's full sync: its parameters decide how much the sandbox serves per page.
PATH = "employees"
PARAMS = {"page_size": "100", "include_deleted_data": "true", "expand": "employments"}


def fetch_every_page(sandbox: str, token: str) -> dict[str, Any]:
    """One httpx client following `next` until it is null, parsing each page and doing nothing else."""
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Account-Token": token}
    pages = rows = 0
    query = dict(PARAMS)
    started = time.perf_counter()
    with httpx.Client(base_url=f"{sandbox}/api/hris/v1/", headers=headers, timeout=60) as client:
        while True:
            page = orjson.loads(client.get(PATH, params=query).raise_for_status().content)
            pages += 1
            rows += len(page["results"])
            if not page["next"]:
                break
            query["cursor"] = page["next"]
    return {"seconds": round(time.perf_counter() - started, 2), "pages": pages, "rows": rows}


def dlt_load(sandbox: str, token: str, database_url: str, workdir: Path) -> dict[str, Any]:
    """dlt's rest_api source into PostgreSQL, merging on Merge's id as an ongoing sync must."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # no network here but the sandbox
    import dlt
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": f"{sandbox}/api/hris/v1/",
                "auth": {"type": "bearer", "token": API_KEY},
                "headers": {"X-Account-Token": token},
                "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"},
            },
            "resources": [
                {
                    "name": "employees",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {"path": PATH, "params": dict(PARAMS), "data_selector": "results"},
                }
            ],
        }
    )
    credentials = ConnectionStringCredentials(database_url.replace("postgres://", "postgresql://", 1))
    # dlt insists on a password; a server with trust authentication ignores the one it is given.
    credentials.password = credentials.password or "unused"
    pipeline = dlt.pipeline(
        pipeline_name="bench_employees",
        pipelines_dir=str(workdir / "dlt"),
        destination=dlt.destinations.postgres(credentials=credentials.to_native_representation()),
        dataset_name="merge_employees",
    )
    started = time.perf_counter()
    pipeline.run(source)
    elapsed = time.perf_counter() - started
    trace = pipeline.last_trace
    counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    return {
        "seconds": round(elapsed, 2),
        "rows": int(counts.get("employees", 0)),
        "child_rows": {k: int(v) for k, v in counts.items() if k != "employees" and not k.startswith("_dlt")},
    }

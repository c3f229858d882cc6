"""Run one measured step in a child process and read its peak memory from the kernel when it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_child(args: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """`python -m bench.worker ARGS`; returns the JSON it prints, plus its peak RSS and CPU time.

    os.wait4 gives this one child's rusage: ru_maxrss is the kernel's high-water mark of its resident set
    (KiB on Linux), which no sampling can miss.
    """
    with tempfile.TemporaryFile() as out, log.open("ab") as err:
        err.write(f"\n$ bench.worker {' '.join(args)}\n".encode())
        err.flush()
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", *args], cwd=REPO, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"bench.worker {args[0]} exited with {process.returncode}; see {log}")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["process_s"] = round(elapsed, 2)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return result

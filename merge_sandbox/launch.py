"""Start the sandbox in a process of its own, on a free port: the one way the tests and the bench run one.

The product never imports this (it reaches the sandbox over HTTP, as it reaches Merge).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx

# The folder that holds this package, so that `python -m merge_sandbox` finds it whether installed or not.
HOME = Path(__file__).resolve().parents[1]
# A started sandbox hears only what its caller says: no periodic Merge syncs (tests and the bench move data
# themselves) and no webhook receiver inherited from the shell.
QUIET = {"MERGE_SANDBOX_SYNC_INTERVAL": "0", "MERGE_SANDBOX_WEBHOOK_URL": ""}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], *, seconds: float = 60) -> None:
    """Until `url` answers below 500; a process that exits first, or too long a wait, is an error."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up in {seconds} s")
        time.sleep(0.1)


@dataclass
class Launched:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def stop(self, *, seconds: float = 30) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=seconds)


def start_sandbox(
    db: Path, *, env: Mapping[str, str] | None = None, log: Path | None = None, seconds: float = 60
) -> Launched:
    """A sandbox serving `db` (created if missing), its output in `log` (or the caller's)."""
    port = free_port()
    command = [sys.executable, "-m", "merge_sandbox", "serve", "--port", str(port), "--db", str(db)]
    environment = os.environ | QUIET | dict(env or {})
    with log.open("ab") if log else nullcontext() as output:
        # Our own interpreter running our own module: nothing in the command comes from outside.
        process = subprocess.Popen(  # noqa: S603
            command, cwd=HOME, env=environment, stdout=output, stderr=subprocess.STDOUT if log else None
        )
    launched = Launched(url=f"http://127.0.0.1:{port}", process=process)
    try:
        wait_until_up(f"{launched.url}/_sandbox/health", process, seconds=seconds)
    except RuntimeError as error:
        launched.stop()
        raise RuntimeError(f"the sandbox did not start ({error}); see {log or 'its output'}") from None
    return launched


@contextmanager
def running_sandbox(
    db: Path, *, env: Mapping[str, str] | None = None, log: Path | None = None, seconds: float = 60
) -> Iterator[Launched]:
    launched = start_sandbox(db, env=env, log=log, seconds=seconds)
    try:
        yield launched
    finally:
        launched.stop(seconds=60)  # a sandbox holding a million people takes a moment to close

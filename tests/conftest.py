import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from pytest_django.fixtures import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


def start_sandbox(db: Path, **env: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "merge_sandbox", "serve", "--port", str(port), "--db", str(db)],
        cwd=ROOT,
        env=os.environ | {"MERGE_SANDBOX_SYNC_INTERVAL": "0"} | env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/_sandbox/health", process)
    return url, process


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Merge sandbox process, shared by the session's tests; each test makes its own tenants."""
    url, process = start_sandbox(tmp_path_factory.mktemp("sandbox") / "merge.sqlite3")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def merge(settings: Settings, sandbox_url: str) -> str:
    settings.MERGE_API_URL = f"{sandbox_url}/api"
    settings.MERGE_LINK_SCRIPT_URL = f"{sandbox_url}/link/initialize.js"
    return sandbox_url


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    """Hash strength is Django's concern, not the tests'; tests sign in often and need not wait for PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()

"""Browser tests drive real processes: Merge sandbox, web server and task worker, on PostgreSQL."""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url
import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page

from merge_sandbox.launch import free_port, start_sandbox, wait_until_up
from tests.conftest import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Stack:
    web: str
    sandbox: str
    env: dict[str, str]
    mail: Path

    def subjects(self) -> list[str]:
        """Subjects of every email sent so far, oldest first (one file per connection, one line each)."""
        files = sorted(self.mail.glob("*.log"), key=lambda f: f.stat().st_mtime) if self.mail.exists() else []
        return [
            line.removeprefix("Subject: ")
            for f in files
            for line in f.read_text().splitlines()
            if line.startswith("Subject: ")
        ]

    def manage(self, *argv: str, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=ROOT,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    def control(self, method: str, path: str, **json: Any) -> Any:
        response = httpx.request(method, f"{self.sandbox}/_sandbox/{path}", json=json or None, timeout=120)
        response.raise_for_status()
        return response.json()


def _fresh_database() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/skillibrium")
    name = f"skillibrium_e2e_{os.getpid()}"
    cfg = dj_database_url.parse(base)
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    cfg = dj_database_url.parse(url)
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole product, as SKILLIBRIUM_ENVIRONMENT `request.param` (sandbox unless parametrized)."""
    environment = getattr(request, "param", "sandbox")
    database = _fresh_database()
    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    launched = start_sandbox(
        tmp_path_factory.mktemp("e2e") / "merge.sqlite3",
        env={"MERGE_SANDBOX_WEBHOOK_URL": f"{web}/webhooks/merge/"},
    )
    sandbox, sandbox_process = launched.url, launched.process
    mail = tmp_path_factory.mktemp("mail")
    env = os.environ | {
        "DATABASE_URL": database,
        "SKILLIBRIUM_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "SKILLIBRIUM_EMAIL_FILE_PATH": str(mail),
        "SKILLIBRIUM_DEBUG": "1",
        "SKILLIBRIUM_ENVIRONMENT": environment,
        "SKILLIBRIUM_SITE_URL": web,
        "MERGE_API_URL": f"{sandbox}/api",
        "MERGE_LINK_SCRIPT_URL": f"{sandbox}/link/initialize.js",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(web=web, sandbox=sandbox, env=env, mail=mail)
    processes = [sandbox_process]
    try:
        stack.manage("migrate", "--no-input")
        stack.manage("seed_demo", "--size", "60", "--sync")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "skillibrium.asgi:application", "--port", str(web_port)],
                cwd=ROOT,
                env=env,
            )
        )
        processes.append(
            subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-reload"], cwd=ROOT, env=env)
        )
        wait_until_up(f"{web}/healthz", processes[1])
        yield stack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        _drop_database(database)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SCREENSHOTS / f"{name}.png")), full_page=True)

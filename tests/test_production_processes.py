"""The Procfile's process set, as docs/deployment.md starts it: DEBUG off, PostgreSQL, Redis, the release
step, the web server with two workers, two task workers and the scheduler, under a supervisor that restarts
what exits. The scheduler's sync runs; the sync user's password is reset and the break noticed; signed in over
HTTP, an admin relinks and the catch-up runs; readiness turns red while Redis or PostgreSQL is down and green
when they are back, and scheduled syncs go on; everything stops cleanly. PostgreSQL and Redis here are
private to the test, so that stopping them stops nothing else."""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet

from .sandboxed import Sandbox

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/nonexistent"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until[T](
    what: str, probe: Callable[[], T | None], seconds: float = 90, seen: Callable[[], object] | None = None
) -> T:
    """Polls `probe` until it returns something true, or fails naming what never happened and what was seen
    last (`seen`, or the probe's last answer)."""
    deadline = time.monotonic() + seconds
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Not within {seconds} s: {what} (last seen: {(seen or probe)()!r})")
        time.sleep(0.2)


def as_postgres(*args: str) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else list(args)


class PrivatePostgres:
    def __init__(self) -> None:
        # Its own directory, outside pytest's (which only root may enter), owned by the user it runs as.
        self.root = Path(tempfile.mkdtemp(prefix="skillibrium-pg-"))
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data, self.port = self.root / "data", free_port()
        subprocess.run(
            as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )
        self.url = self.database("postgres")

    def database(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        subprocess.run(
            as_postgres(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.data / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
            check=True,
            capture_output=True,
        )


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        until("Redis answers", lambda: _connects(self.port), 30)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(30)


def _connects(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


class ProcessSet:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.running = env, logs, {}  # type: dict[str, str], Path, dict[str, Any]
        self.commands = procfile()
        self.lock = threading.Lock()

    def run(self, name: str, command: str | None = None) -> str:
        result = subprocess.run(
            ["bash", "-c", command or self.commands[name]],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start(self, name: str, as_name: str | None = None) -> None:
        log = (self.logs / f"{as_name or name}.log").open("a")
        self.running[as_name or name] = (
            subprocess.Popen(
                ["bash", "-c", f"exec {self.commands[name]}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ),
            log,
        )

    def supervise(self) -> None:
        """What a process manager does (a Procfile platform, systemd's Restart=always): the worker and the
        scheduler exit when the database or Redis they hold goes away, and are started again."""
        self.restarts: list[str] = []
        self.supervising = threading.Event()
        self.supervising.set()

        def watch() -> None:
            while self.supervising.is_set():
                with self.lock:
                    for name, (process, log) in list(self.running.items()):
                        if process.poll() is not None and self.supervising.is_set():
                            log.close()
                            self.restarts.append(name)
                            self.start(name.split("-")[0], name)
                time.sleep(0.5)

        self.watcher = threading.Thread(target=watch, daemon=True)
        self.watcher.start()

    def stop(self) -> dict[str, int]:
        if getattr(self, "supervising", None):
            self.supervising.clear()
            self.watcher.join()
        for process, _ in self.running.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        codes = {}
        for name, (process, log) in self.running.items():
            try:
                codes[name] = process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = process.wait()
            log.close()
        self.running.clear()
        return codes

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()


@contextmanager
def production_set(
    tmp_path: Path, sandbox_url: str
) -> Iterator[tuple[ProcessSet, PrivatePostgres, PrivateRedis, str]]:
    postgres, redis = PrivatePostgres(), PrivateRedis()
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SKILLIBRIUM_", "MERGE_", "DATABASE_URL"))
    }
    env |= {
        "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SKILLIBRIUM_ENVIRONMENT": "production",
        "SKILLIBRIUM_DEBUG": "0",
        "SKILLIBRIUM_SITE_URL": site,
        "SKILLIBRIUM_ALLOWED_HOSTS": "127.0.0.1",
        "SKILLIBRIUM_SECRET_KEY": secrets.token_urlsafe(50),
        "SKILLIBRIUM_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SKILLIBRIUM_VAR_DIR": str(tmp_path / "var"),
        "SKILLIBRIUM_REDIS_URL": redis.url,
        "SKILLIBRIUM_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "SKILLIBRIUM_SCHEDULER_TICK_SECONDS": "2",
        "SKILLIBRIUM_SYNC_INTERVAL_SECONDS": "3",
        "DATABASE_URL": postgres.database("skillibrium"),
        "MERGE_API_URL": f"{sandbox_url}/api",
        "MERGE_LINK_SCRIPT_URL": f"{sandbox_url}/link/initialize.js",
    }
    processes = ProcessSet(env, tmp_path)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, postgres.root, ignore_errors=True)
        postgres.start()
        stack.callback(lambda: _connects(postgres.port) and postgres.stop())
        subprocess.run(
            ["psql", postgres.url, "-c", "CREATE DATABASE skillibrium"], check=True, capture_output=True
        )
        redis.start()
        stack.callback(lambda: redis.process and redis.process.poll() is None and redis.stop())
        stack.callback(processes.stop)
        yield processes, postgres, redis, site


def ready(client: httpx.Client) -> dict[str, str] | None:
    """The failing checks, or None while /readyz cannot be reached at all."""
    try:
        response = client.get("/readyz", headers={"accept": "application/json"})
    except httpx.TransportError:
        return None
    failing = {name: message for name, message in response.json().items() if message != "OK"}
    assert response.status_code == (503 if failing else 200)
    return failing


def green(client: httpx.Client) -> Callable[[], bool]:
    """A probe for `until`: true once readiness is green."""
    return lambda: ready(client) == {}


def runs(database_url: str, trigger: str) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT status, created + updated + unchanged FROM sync_syncrun WHERE trigger = %s", [trigger]
        ).fetchall()


@pytest.mark.skipif(not PG_BIN.exists(), reason="PostgreSQL's server binaries are part of the CI machine")
def test_the_production_process_set(tmp_path: Path, sandbox_url: str) -> None:
    with production_set(tmp_path, sandbox_url) as (processes, postgres, redis, site):
        database = processes.env["DATABASE_URL"]
        processes.run("release")
        seeded = processes.run("seed", "python manage.py seed_demo --size 40 --crm '' --sync")
        tenant, username, password = re.search(
            r"HRIS sync user in the sandbox: (\S+) / (\S+) \(tenant (\S+)\)", seeded
        ).group(3, 1, 2)  # type: ignore[union-attr]
        processes.start("web")
        processes.start("worker", "worker-1")
        processes.start("worker", "worker-2")
        processes.start("scheduler")
        processes.supervise()
        client = httpx.Client(base_url=site, timeout=30, follow_redirects=False)
        probe = httpx.Client(base_url=site, timeout=30)  # the load balancer's: no cookies
        with client, probe:
            assert until("the web server is up", lambda: _up(probe)) is True
            assert until("readiness is green", green(probe), seen=lambda: ready(probe)) is True
            sign_in_page = client.get("/accounts/login/").text
            stylesheet = re.search(r'href="(/static/skillibrium/app\.[0-9a-f]{12}\.css)"', sign_in_page)
            assert stylesheet, "pages link static files by their hashed names"
            cached = client.get(stylesheet.group(1)).headers["cache-control"]
            assert "immutable" in cached, "which browsers may keep for ever"

            # The scheduler's first tick finds the seeded integration due.
            assert (
                until(
                    "a scheduled sync has run",
                    lambda: [r for r in runs(database, "schedule") if r[0] != "running"],
                )[0][0]
                == "succeeded"
            )
            # The HRIS admin resets the sync user's password: Merge's next sync fails, and so does ours.
            merge = Sandbox(sandbox_url)
            (tenant_id,) = (
                t["id"] for t in merge.control("GET", "tenants")["results"] if t["subdomain"] == tenant
            )
            password = merge.control("POST", f"tenants/{tenant_id}/reset-password")["password"]
            merge.merge_sync()
            (integration,) = _query(
                database, "SELECT id FROM integrations_integration WHERE category = 'hris'"
            )
            until(
                "the break is noticed",
                lambda: _query(
                    database, "SELECT health FROM integrations_integration WHERE health = 'relink_needed'"
                ),
            )

            sign_in(client, "admin@acme.example", "skillibrium-demo")
            csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
            started = client.post(f"/integrations/{integration}/relink/start/", headers=csrf)
            assert started.status_code == 200, started.text
            public = merge.complete_link(
                started.json()["link_token"],
                {"subdomain": tenant, "username": username, "password": password},
            )
            done = client.post(
                f"/integrations/{integration}/relink/complete/", data={"public_token": public}, headers=csrf
            )
            assert done.status_code == 302
            assert "successfully linked" in client.get(done.headers["location"]).text
            assert until(
                "the catch-up has run", lambda: [r for r in runs(database, "relink") if r[0] != "running"]
            ) == [("succeeded", 40)]

            redis.stop()
            assert "Cache(alias='default')" in until("readiness is red without Redis", lambda: ready(probe))
            redis.start()
            assert (
                until("readiness is green with Redis back", green(probe), seen=lambda: ready(probe)) is True
            )

            postgres.stop()
            assert "Database(alias='default')" in until(
                "readiness is red without PostgreSQL", lambda: ready(probe)
            )
            postgres.start()
            assert (
                until("readiness is green with PostgreSQL back", green(probe), seen=lambda: ready(probe))
                is True
            )
            before = len(runs(database, "schedule"))
            assert (
                until(
                    "scheduled syncs go on",
                    lambda: len(runs(database, "schedule")) > before + 1,
                    seen=lambda: _state(database, processes),
                )
                is True
            )

        codes = processes.stop()
        assert codes == {"web": 0, "worker-1": 0, "worker-2": 0, "scheduler": 0}, {
            n: processes.log(n)[-2000:] for n in codes
        }
        assert "Traceback" not in processes.log("web"), processes.log("web")


def _state(database: str, processes: ProcessSet) -> str:
    """What the process set looked like, for a failure's message."""
    with psycopg.connect(database) as connection:
        last_runs = connection.execute(
            "SELECT trigger, status, error FROM sync_syncrun ORDER BY id DESC LIMIT 5"
        ).fetchall()
        health = connection.execute("SELECT health, next_sync_at FROM integrations_integration").fetchall()
    return f"runs {last_runs}, integration {health}, restarted {processes.restarts}"


def _up(client: httpx.Client) -> bool | None:
    try:
        return client.get("/healthz").status_code == 200 or None
    except httpx.TransportError:
        return None


def _query(database: str, sql: str) -> tuple[Any, ...]:
    with psycopg.connect(database) as connection:
        return tuple(row[0] for row in connection.execute(sql).fetchall())


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["location"] != "/accounts/login/"

"""Browser tests drive real processes: Merge sandbox, web server and task worker, on PostgreSQL.

`stack` is the demo (seeded, mail written to files); `bare_stack` starts from nothing: no organization, no
user, and its mail goes to a real SMTP server in the test process (`stack.smtp`), read as a person would.
A module's tests share its stack; after a failed test, the next gets a fresh stack instead of what it left.
"""

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, fields
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dj_database_url
import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect

from merge_sandbox.launch import free_port, start_sandbox, wait_until_up
from tests.conftest import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"
# Waits end on an event (an element, a response, a message); on a loaded machine the event comes later, not
# never, so the limits are generous: a test that passes takes no longer for them.
PAGE_TIMEOUT_MS = 60_000
expect.set_options(timeout=30_000)


class MailServer:
    """A real SMTP server the product sends to; tests wait for a message as a person waits for an email."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, *, to: str, subject: str = "", timeout: float = 60, after: int = 0) -> EmailMessage:
        """The first message to `to` (whose subject contains `subject`) among those from index `after` on;
        the worker sends queued mail within seconds."""

        def found() -> EmailMessage | None:
            for message in self.messages[after:]:
                if to.lower() in str(message["To"]).lower() and subject in " ".join(
                    str(message["Subject"]).split()
                ):
                    return message
            return None

        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout=timeout)
            message = found()
        assert message is not None, (
            f"no email to {to} ({subject!r}); got {[str(m['Subject']) for m in self.messages]}"
        )
        return message

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""

    def link(self, message: EmailMessage, path: str) -> str:
        """The first URL in the message whose path starts with `path` (such as /invitations/)."""
        found = re.search(rf"https?://[^\s/]+{re.escape(path)}\S*", self.text(message))
        assert found, f"no {path} link in: {self.text(message)}"
        return found.group(0)


@dataclass
class Stack:
    web: str
    sandbox: str
    env: dict[str, str]
    mail: Path
    smtp: MailServer | None = field(default=None)
    spoiled: bool = field(default=False, repr=False)
    relaunch: Callable[[], None] = field(default=lambda: None, repr=False)

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

    def make_staff(self, email: str, password: str) -> None:
        """A Skillibrium staff user, made the way operators make one: manage.py createsuperuser."""
        self.manage("createsuperuser", "--no-input", "--email", email, DJANGO_SUPERUSER_PASSWORD=password)

    def wait_until(
        self,
        ready: Callable[[], bool],
        *,
        what: str,
        seconds: float = 120,
        tables: tuple[str, ...] = (),
        every: float = 1.0,
    ) -> None:
        """Until `ready()`, asked again each time the product writes to one of `tables` (any, if none), and
        after `every` seconds without one (a lease or a due time passes without a write)."""
        deadline = time.monotonic() + seconds
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANGED}")  # before the first look, so no change falls between
            while not ready():
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{what}: not after {seconds} seconds"
                for note in conn.notifies(timeout=min(remaining, every)):
                    if not tables or note.payload in tables:
                        break

    def control(self, method: str, path: str, **json: Any) -> Any:
        response = httpx.request(method, f"{self.sandbox}/_sandbox/{path}", json=json or None, timeout=120)
        response.raise_for_status()
        return response.json()


def _admin(url: str) -> psycopg.Connection[Any]:
    cfg = dj_database_url.parse(url)
    return psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres", autocommit=True
    )


def _named(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


# Every write to a stack's database is announced on CHANGED (the table's name), so a test waits for the
# product's next change instead of asking again and again.
CHANGED = "stack_changed"
ANNOUNCE_CHANGES = f"""
CREATE FUNCTION announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('{CHANGED}', TG_TABLE_NAME); RETURN NULL; END $$;
DO $$ DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION announce_change()', t);
  END LOOP;
END $$;
"""


def _schema_digest() -> str:
    """What the migrated schema depends on: our migrations and the pinned apps whose migrations we run."""
    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes() + ANNOUNCE_CHANGES.encode())
    for path in sorted((ROOT / "skillibrium").rglob("migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _migrated_template(base: str) -> str:
    """A database migrated once for these migrations, kept between runs; every stack starts as a copy of it.
    Test processes running side by side build it once, under a lock."""
    prefix = f"{dj_database_url.parse(base)['NAME']}_e2e_template_"
    name = prefix + _schema_digest()
    with _admin(base) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            building = f"{name}_building"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{building}"')
            env = os.environ | {"DATABASE_URL": _named(base, building), "SKILLIBRIUM_DEBUG": "1"}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            done = subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr
            with psycopg.connect(env["DATABASE_URL"], autocommit=True) as built:
                built.execute(ANNOUNCE_CHANGES.encode())
            # No one connects to the template, so copying it never waits for a connection to end.
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname != %s",
                [prefix, name],
            ).fetchall()
            for (old,) in stale:
                with suppress(psycopg.Error):  # in use by a run of other migrations: it goes next time
                    conn.execute(f'DROP DATABASE IF EXISTS "{old}"')
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])
    return name


def _fresh_database() -> str:
    """A migrated database of this stack's own."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/skillibrium")
    template = _migrated_template(base)
    name = f"skillibrium_e2e_{os.getpid()}"
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _named(base, name)


def _drop_database(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dj_database_url.parse(url)["NAME"]}" WITH (FORCE)')


@contextmanager
def launch(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    environment: str = "sandbox",
    seed: Callable[[Stack], object] | None = None,
    smtp: bool = False,
    **settings: str,
) -> Iterator[Stack]:
    """The whole product on free ports and its own migrated database; `seed` runs before serving;
    `settings` are extra SKILLIBRIUM_* environment variables."""
    database = _fresh_database()
    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    launched = start_sandbox(
        tmp_path_factory.mktemp("e2e") / "merge.sqlite3",
        env={"MERGE_SANDBOX_WEBHOOK_URL": f"{web}/webhooks/merge/"},
        seconds=180,
    )
    sandbox, sandbox_process = launched.url, launched.process
    mail = tmp_path_factory.mktemp("mail")
    server = MailServer() if smtp else None
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
    if server is not None:
        server.controller.start()
        env |= {
            "SKILLIBRIUM_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "SKILLIBRIUM_SMTP_HOST": "127.0.0.1",
            "SKILLIBRIUM_SMTP_PORT": str(server.controller.port),
        }
    env |= settings
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(web=web, sandbox=sandbox, env=env, mail=mail, smtp=server)
    processes = [sandbox_process]
    try:
        if seed is not None:
            seed(stack)
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
        wait_until_up(f"{web}/healthz", processes[1], seconds=180)  # a loaded machine starts slowly
        yield stack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        if server is not None:
            server.controller.stop()
        _drop_database(database)


def seed_demo(stack: Stack) -> None:
    stack.manage("seed_demo", "--size", "60", "--sync")


@contextmanager
def relaunchable(start: Callable[[], AbstractContextManager[Stack]]) -> Iterator[Stack]:
    """A stack that `relaunch()` replaces with a new one in place: the tests holding it reach the new one."""
    running = ExitStack()
    shared = running.enter_context(start())

    def relaunch() -> None:
        nonlocal running
        running.close()
        running = ExitStack()
        fresh = running.enter_context(start())
        for f in fields(Stack):
            if f.name != "relaunch":
                setattr(shared, f.name, getattr(fresh, f.name))

    shared.relaunch = relaunch
    try:
        yield shared
    finally:
        running.close()


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo, as SKILLIBRIUM_ENVIRONMENT `request.param` (sandbox unless parametrized)."""
    environment = getattr(request, "param", "sandbox")
    with relaunchable(lambda: launch(tmp_path_factory, environment=environment, seed=seed_demo)) as stack:
        yield stack


@pytest.fixture(scope="module")
def bare_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The product from nothing (no organization, no user), its mail caught by a real SMTP server."""
    with relaunchable(lambda: launch(tmp_path_factory, smtp=True, SKILLIBRIUM_SELF_SIGNUP="1")) as stack:
        yield stack


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    return report  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def fresh_stack_after_a_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failed test may leave a connection broken, a fault on or a task queued: the module's next test gets
    a new stack instead of that one."""
    names = [name for name in ("stack", "bare_stack") if name in request.fixturenames]
    stacks: list[Stack] = [request.getfixturevalue(name) for name in names]
    for stack in stacks:
        if stack.spoiled:
            stack.relaunch()
    yield
    if request.node.stash.get(FAILED, False):
        for stack in stacks:
            stack.spoiled = True


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests first, the longest work first: while one worker runs a stack's tests, another takes the
    short ones, and no worker is left alone with a stack at the end (with -n; see tests/conftest.py)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # one process: the random order stands
    here = Path(__file__).parent
    items.sort(key=lambda item: not item.path.is_relative_to(here))


def sign_in(page: Page, stack: Stack, email: str, password: str) -> None:
    page.goto(f"{stack.web}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SCREENSHOTS / f"{name}.png")), full_page=True)

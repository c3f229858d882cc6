"""Run the whole product locally in one foreground command: sandbox, web, worker, scheduler."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Organization
from skillibrium.demo.data import ADMIN_EMAIL, DEMO_ORGANIZATION, DEMO_PASSWORD, MEMBER_EMAIL, sync_users

# `--port 8000` keeps the sandbox on its usual 8765; any other port moves both together.
SANDBOX_OFFSET = 765


class Command(BaseCommand):
    help = (
        "Start the Merge sandbox, the web server, the task worker and the scheduler; Ctrl-C stops them all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help=f"Web port; the sandbox's is {SANDBOX_OFFSET} more."
        )
        parser.add_argument("--size", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        site, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + SANDBOX_OFFSET}"
        var: Path = settings.VAR_DIR
        env = _environment(site=site, sandbox=sandbox, var=var)
        python = sys.executable
        children = Children(env)
        # Ctrl-C must stop everything even when started from a shell that ignores SIGINT for its children.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            children.start(
                [python, "-m", "merge_sandbox", "serve", "--port", str(port + SANDBOX_OFFSET)],
                stops_last=True,
            )
            self._wait_for(f"{sandbox}/_sandbox/health", "the Merge sandbox")
            # Its own process, whose settings reach this run's sandbox; quiet: the block below says it all.
            seed = [python, "manage.py", "seed_demo", "--size", str(options["size"]), "--sync", "-v", "0"]
            if children.run(seed):
                raise CommandError("Seeding the demo failed; see above.")
            web = ["uvicorn", "skillibrium.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
            # Django has nothing to run at start-up or shut-down: no lifespan, and no line saying it has none.
            children.start([python, "-m", *web, "--no-access-log", "--lifespan", "off"])
            children.start([python, "manage.py", "db_worker", "--no-reload", "--queue-name", "default"])
            # The heartbeat is a line a minute for an operator's log watcher; the demo has none.
            children.start([python, "manage.py", "crontask", "--no-heartbeat"])
            self._wait_for(f"{site}/healthz", "the web server")
            self._wait_for_queued_tasks()
            self._print_sign_ins(site=site, sandbox=sandbox, mail=var / "mail")
            children.wait_for_any()
            raise CommandError("A demo process stopped unexpectedly; stopping the others.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            children.stop()

    def _print_sign_ins(self, *, site: str, sandbox: str, mail: Path) -> None:
        """On every start: a relink asks for the sync user's password, which the sandbox may have changed."""
        organization = Organization.objects.get(name=DEMO_ORGANIZATION)
        lines = [
            self.style.SUCCESS(f"\nSkillibrium is running at {site}/"),
            f"  admin:  {ADMIN_EMAIL} / {DEMO_PASSWORD}",
            f"  member: {MEMBER_EMAIL} / {DEMO_PASSWORD}",
            f"Merge sandbox: {sandbox} (docs/sandbox.md; its CLI takes --url {sandbox})",
        ]
        for user in sync_users(organization, sandbox=sandbox):
            lines.append(
                f"  {user.category} {user.provider}: tenant {user.tenant}, "
                f"sync user {user.username} / {user.password}"
            )
        lines += [f"Emails go to {mail}/", "Press Ctrl-C to stop.\n"]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _wait_for_queued_tasks(self, seconds: float = 60) -> None:
        """A first run queues an invitation per person: the block comes after their lines, not among them."""
        deadline = time.monotonic() + seconds
        tasks = DBTaskResult.objects
        while time.monotonic() < deadline and (tasks.ready().exists() or tasks.running().exists()):
            time.sleep(0.5)

    def _wait_for(self, url: str, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise CommandError(f"{what} did not start within {seconds:.0f} seconds.")


def _environment(*, site: str, sandbox: str, var: Path) -> dict[str, str]:
    """Every process of the demo reaches this run's sandbox and site, and writes its emails to files."""
    return os.environ | {
        "SKILLIBRIUM_SITE_URL": site,
        "SKILLIBRIUM_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "SKILLIBRIUM_EMAIL_FILE_PATH": str(var / "mail"),
        "MERGE_API_URL": f"{sandbox}/api",
        "MERGE_LINK_SCRIPT_URL": f"{sandbox}/link/initialize.js",
        "MERGE_SANDBOX_DB": str(var / "merge-sandbox.sqlite3"),
        "MERGE_SANDBOX_WEBHOOK_URL": f"{site}/webhooks/merge/",
        "PYTHONUNBUFFERED": "1",  # each process's lines appear as they happen, not when a buffer fills
    }


class Children:
    """The demo's processes, each in a process group of its own: the terminal's Ctrl-C reaches only the demo,
    which stops each child once (a second signal during a child's own shutdown is what printed tracebacks)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []
        self.last: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], *, stops_last: bool = False) -> subprocess.Popen[bytes]:
        # Our own interpreter running our own modules: nothing in the command comes from outside.
        child = subprocess.Popen(argv, env=self.env, cwd=settings.BASE_DIR, process_group=0)  # noqa: S603
        (self.last if stops_last else self.running).append(child)
        return child

    def run(self, argv: list[str]) -> int:
        child = self.start(argv)
        code = child.wait()
        self.running.remove(child)
        return code

    def wait_for_any(self) -> None:
        while all(child.poll() is None for child in self.running + self.last):
            time.sleep(0.5)

    def stop(self) -> None:
        """The sandbox last: the worker may be in the middle of a sync against it."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for group in (self.running, self.last):
            for child in group:
                if child.poll() is None:
                    child.terminate()
            for child in group:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

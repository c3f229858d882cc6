"""Run the whole product locally in one foreground command: sandbox, web, worker, scheduler."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from skillibrium.demo.data import sandbox_url


class Command(BaseCommand):
    help = (
        "Start the Merge sandbox, the web server, the task worker and the scheduler; Ctrl-C stops them all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--size", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        python, var = sys.executable, settings.BASE_DIR / "var"
        port = options["port"]
        mail = var / "mail"
        env = os.environ | {
            "SKILLIBRIUM_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "SKILLIBRIUM_EMAIL_FILE_PATH": str(mail),
            "MERGE_SANDBOX_DB": str(var / "merge-sandbox.sqlite3"),
            "MERGE_SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/merge/",
        }
        sandbox_port = sandbox_url().rsplit(":", 1)[-1]
        commands = {
            "merge-sandbox": [python, "-m", "merge_sandbox", "serve", "--port", sandbox_port],
            "web": [
                python,
                "-m",
                "uvicorn",
                "skillibrium.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            "worker": [python, "manage.py", "db_worker", "--no-reload", "--queue-name", "default"],
            "scheduler": [python, "manage.py", "crontask"],
        }
        children: list[subprocess.Popen[bytes]] = []

        def stop(*_: object) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

        # Ctrl-C must stop everything even when started from a shell that ignores SIGINT for its children.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            children.append(subprocess.Popen(commands.pop("merge-sandbox"), env=env, cwd=settings.BASE_DIR))  # noqa: S603 - our own argv
            self._wait_for(f"{sandbox_url()}/_sandbox/health", "the Merge sandbox")
            call_command("seed_demo", size=options["size"], sync=True)
            for argv in commands.values():
                children.append(subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR))  # noqa: S603 - our own argv
            self._wait_for(f"http://127.0.0.1:{port}/healthz", "the web server")
            self.stdout.write(self.style.SUCCESS(f"\nSkillibrium is running at http://127.0.0.1:{port}/"))
            self.stdout.write(
                "Sign in as admin@acme.example / skillibrium-demo (member: member@acme.example)"
            )
            self.stdout.write(f"Merge sandbox: {sandbox_url()} (docs/sandbox.md). Emails go to {mail}/.")
            self.stdout.write("Press Ctrl-C to stop.\n")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise CommandError("A demo process stopped unexpectedly; stopping the others.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()

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

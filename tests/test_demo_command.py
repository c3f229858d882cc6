"""`make demo` as a newcomer runs it: on free ports, in a folder of its own, started twice, stopped with
Ctrl-C. Every start prints where everything is and each provider's sync user as the sandbox has it now."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from skillibrium.demo.management.commands.demo import SANDBOX_OFFSET

ROOT = Path(__file__).resolve().parent.parent
READY = "Press Ctrl-C to stop."
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+) (?P<message>.*)$"
)


def free_ports() -> int:
    """A port free for the web server whose sandbox port is free too."""
    while True:
        with socket.socket() as web:
            web.bind(("127.0.0.1", 0))
            port = int(web.getsockname()[1])
            with socket.socket() as sandbox:
                try:
                    sandbox.bind(("127.0.0.1", port + SANDBOX_OFFSET))
                except OSError:
                    continue
                return port


class Demo:
    def __init__(self, var: Path, port: int) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "MERGE_", "SKILLIBRIUM_"))
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port), "--size", "30"],
            cwd=ROOT,
            env=env | {"SKILLIBRIUM_DEBUG": "1", "SKILLIBRIUM_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, text: str, seconds: float = 60) -> list[str]:
        deadline = time.monotonic() + seconds
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, "\n".join(self.lines)
            self.lines.append(line)
            if line == text:
                return self.lines

    def interrupt(self, status: int = 0) -> str:
        """Ctrl-C, as the terminal sends it, and everything the demo printed."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=30) == status, "\n".join(self.lines)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return "\n".join(self.lines)


def sign_ins(lines: list[str]) -> list[str]:
    start = max(i for i, line in enumerate(lines) if "Skillibrium is running at" in line)
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines[start:]]


def sandbox_tenants(sandbox: str) -> dict[str, dict[str, str]]:
    return {t["subdomain"]: t for t in httpx.get(f"{sandbox}/_sandbox/tenants").json()["results"]}


def expected_block(site: str, sandbox: str, tenants: dict[str, dict[str, str]], mail: Path) -> list[str]:
    hris, crm = tenants["acme-corporation"], tenants["acme-corporation-2"]
    return [
        f"Skillibrium is running at {site}/",
        "  admin:  admin@acme.example / skillibrium-demo",
        "  member: member@acme.example / skillibrium-demo",
        f"Merge sandbox: {sandbox} (docs/sandbox.md; its CLI takes --url {sandbox})",
        f"  HRIS Workday: tenant acme-corporation, sync user {hris['username']} / {hris['password']}",
        f"  CRM Salesforce: tenant acme-corporation-2, sync user {crm['username']} / {crm['password']}",
        f"Emails go to {mail}/",
        READY,
    ]


def forbidden_as_member(site: str) -> int:
    with httpx.Client(base_url=site) as browser:
        form = browser.get("/accounts/login/").text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert csrf is not None
        signed_in = browser.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": csrf[1],
                "login": "member@acme.example",
                "password": "skillibrium-demo",
            },
        )
        assert signed_in.status_code == 302
        return browser.get("/settings/company/audit/").status_code


def assert_clean(output: str) -> None:
    """No traceback; each log line once (not also raw, as a second handler prints it); no warning at start."""
    assert "Traceback" not in output, output
    assert not re.search(r"\b[A-Z]\w*Warning\b", output), output  # nor any of Python's warnings
    lines = output.splitlines()
    logged = [m for line in lines if (m := LOG_LINE.match(line))]
    assert not {m["message"] for m in logged} & set(lines), output
    assert [line for line, n in Counter(lines).items() if n > 1 and line.strip()] == [], output
    started = output.split("\nStopping…")[0]
    assert [m[0] for m in logged if m["level"] == "WARNING" and m[0] in started] == [
        next(line for line in lines if "Forbidden (Permission denied): /settings/company/audit/" in line)
    ], output


def test_every_start_prints_where_everything_is_and_ctrl_c_stops_it_cleanly(tmp_path: Path) -> None:
    port = free_ports()
    site, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + SANDBOX_OFFSET}"
    first = Demo(tmp_path, port)
    lines = first.until(READY)
    tenants = sandbox_tenants(sandbox)
    assert sign_ins(lines) == expected_block(site, sandbox, tenants, tmp_path / "mail")
    assert forbidden_as_member(site) == 403
    hris = tenants["acme-corporation"]["id"]
    httpx.post(f"{sandbox}/_sandbox/tenants/{hris}/reset-password", json={"password": "N3w-passw0rd"})
    output = first.interrupt()
    assert_clean(output)
    block, after = output.split(READY)
    assert "sent email invitation" in block and "sent email invitation" not in after

    again = Demo(tmp_path, port)
    lines = again.until(READY)
    tenants = sandbox_tenants(sandbox)
    assert tenants["acme-corporation"]["password"] == "N3w-passw0rd"
    assert sign_ins(lines) == expected_block(site, sandbox, tenants, tmp_path / "mail")
    output = again.interrupt()
    assert "Traceback" not in output and "First Workday sync" not in output


def test_ctrl_c_while_django_is_still_starting_stops_it_without_a_traceback(tmp_path: Path) -> None:
    """The terminal's Ctrl-C can come before the demo's own handler is set, while Django starts; in a var
    folder not made yet (SKILLIBRIUM_VAR_DIR naming a new one)."""
    demo = Demo(tmp_path / "new" / "var", free_ports())
    maps = Path(f"/proc/{demo.process.pid}/maps")
    # Django's checks have opened the embedded database: the demo's handle() has not started yet.
    while "_sqlite3" not in maps.read_text():
        assert demo.process.poll() is None, "\n".join(demo.lines)
        os.sched_yield()
    output = demo.interrupt(status=130)
    assert "Traceback" not in output, output

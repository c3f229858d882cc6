"""The command line drives the same control API."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from merge_sandbox.launch import HOME

from .conftest import Sandbox


def cli(sandbox: Sandbox, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "merge_sandbox", *args, "--url", sandbox.url],
        cwd=HOME,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_cli_creates_breaks_and_syncs(sandbox: Sandbox) -> None:
    tenant = cli(sandbox, "tenant", "create", "--provider", "hibob", "--name", "Cli Co", "--size", "4")
    assert tenant["people"] == 4
    account = sandbox.link(tenant)
    hired = cli(sandbox, "person", "hire", tenant["id"], "first_name=Grace", "title=Engineer")
    assert hired["first_name"] == "Grace"
    cli(sandbox, "person", "change", tenant["id"], hired["remote_id"], "title=Staff Engineer")
    assert cli(sandbox, "sync", "run", "--account", account["id"])["results"][0]["added"] == 2
    cli(sandbox, "tenant", "reset-password", tenant["id"], "--password", "Changed-1")
    result = cli(sandbox, "sync", "run", "--account", account["id"])["results"][0]
    assert result["issue"]["error_description"] == "Invalid login credentials"
    listed = cli(sandbox, "account", "list")["results"]
    assert {a["id"]: a["status"] for a in listed}[account["id"]] == "RELINK_NEEDED"


def test_cli_reports_errors_with_a_nonzero_exit(sandbox: Sandbox) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "merge_sandbox", "tenant", "show", "no-such", "--url", sandbox.url],
        cwd=HOME,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and json.loads(done.stdout) == {"detail": "No such tenant."}

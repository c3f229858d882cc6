"""The embedded default (`make demo`): the same engine on SQLite, driven through the management commands, the
way the demo and an operator drive it. Every other test runs on PostgreSQL."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_first_sync_leaver_and_dry_run_on_sqlite(tmp_path: Path, sandbox_url: str) -> None:
    database = tmp_path / "embedded.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MERGE_"))} | {
        "SKILLIBRIUM_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{database}",
        "MERGE_API_URL": f"{sandbox_url}/api",
        "MERGE_LINK_SCRIPT_URL": f"{sandbox_url}/link/initialize.js",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    seeded = manage(env, "seed_demo", "--size", "40", "--crm", "", "--sync")
    assert "sync: succeeded" in seeded, seeded

    with sqlite3.connect(database) as db:
        people, linked = db.execute("SELECT count(*), count(user_id) FROM directory_person").fetchone()
        active = db.execute("SELECT count(*) FROM accounts_user WHERE is_active").fetchone()[0]
        (remote_id, email) = db.execute(
            "SELECT i.remote_id, p.work_email FROM directory_sourceidentity i"
            " JOIN directory_person p ON p.id = i.person_id JOIN accounts_user u ON u.id = p.user_id"
            " WHERE u.is_active ORDER BY p.id LIMIT 1"
        ).fetchone()
    assert people == 40 and 0 < linked <= people and active >= linked

    control = f"{sandbox_url}/_sandbox"
    subdomain = seeded.split("(tenant ")[1].split(")")[0]
    tenant = next(t for t in httpx.get(f"{control}/tenants").json()["results"] if t["subdomain"] == subdomain)
    httpx.post(f"{control}/tenants/{tenant['id']}/people/{remote_id}/terminate", json={}).raise_for_status()
    httpx.post(f"{control}/sync", json={}).raise_for_status()

    preview = manage(env, "sync_account", "--all", "--dry-run")
    with sqlite3.connect(database) as db:
        kept = db.execute("SELECT is_active FROM accounts_user WHERE email = ?", [email]).fetchone()[0]
    assert "Dry run" in preview and kept == 1

    manage(env, "sync_account", "--all")
    with sqlite3.connect(database) as db:
        left = db.execute("SELECT is_active FROM accounts_user WHERE email = ?", [email]).fetchone()[0]
        others = db.execute("SELECT count(*) FROM accounts_user WHERE is_active").fetchone()[0]
        last = db.execute("SELECT status, deactivated FROM sync_syncrun ORDER BY id DESC LIMIT 1").fetchone()
    assert (left, others, last) == (0, active - 1, ("succeeded", 1))

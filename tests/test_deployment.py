"""A production deployment configured only from the environment: `check --deploy` is clean, and pages come
with HSTS, an https redirect, secure cookies and a Content-Security-Policy that admits Merge Link's origin."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
HOST = "skillibrium.example.com"


def production_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    """The process environment without any local or test setting, plus a production configuration."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SKILLIBRIUM_", "MERGE_", "DJANGO_", "DATABASE_URL"))
    }
    production = {
        "SKILLIBRIUM_ENVIRONMENT": "production",
        "SKILLIBRIUM_DEBUG": "0",
        "SKILLIBRIUM_SITE_URL": f"https://{HOST}",
        "SKILLIBRIUM_ALLOWED_HOSTS": HOST,
        "SKILLIBRIUM_SECRET_KEY": secrets.token_urlsafe(50),
        "SKILLIBRIUM_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "SKILLIBRIUM_VAR_DIR": str(tmp_path / "var"),
        "MERGE_API_URL": "https://api.merge.dev/api",
        "MERGE_API_KEY": secrets.token_urlsafe(32),
        "MERGE_WEBHOOK_KEY": secrets.token_urlsafe(32),
        "MERGE_LINK_SCRIPT_URL": "https://cdn.merge.dev/initialize.js",
    }
    merged = inherited | production | changes
    return {k: v for k, v in merged.items() if v is not None}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_passes_for_production_settings(tmp_path: Path) -> None:
    result = run(production_env(tmp_path), "manage.py", "check", "--deploy")

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"SKILLIBRIUM_ENCRYPTION_KEYS": None}, "skillibrium.E001"),
        ({"MERGE_API_KEY": "sandbox-production-key"}, "skillibrium.E002"),
        ({"MERGE_WEBHOOK_KEY": "sandbox-webhook-key"}, "skillibrium.E002"),
        ({"SKILLIBRIUM_SITE_URL": f"http://{HOST}"}, "skillibrium.E003"),
    ],
)
def test_check_deploy_refuses_a_weak_production_configuration(
    tmp_path: Path, changes: dict[str, str | None], error: str
) -> None:
    result = run(production_env(tmp_path, **changes), "manage.py", "check", "--deploy")

    assert result.returncode == 1
    assert error in result.stderr


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run(production_env(tmp_path_factory.mktemp("production")), "-m", "tests.production_probe")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_plain_http_is_redirected_to_https(production: dict[str, Any]) -> None:
    page = production["plain_http"]
    assert (page["status"], page["headers"]["Location"]) == (301, f"https://{HOST}/accounts/login/")


def test_https_pages_carry_hsts_and_forbid_framing(production: dict[str, Any]) -> None:
    headers = production["sign_in_page"]["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_csp_admits_merge_links_origin_for_its_script_and_frame(production: dict[str, Any]) -> None:
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in production["my_org"]["headers"]["Content-Security-Policy"].split(";")
    )
    assert "https://cdn.merge.dev" in policy["script-src"].split()
    assert "https://cdn.merge.dev" in policy["frame-src"].split()
    assert "http:" not in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]


def test_cookies_are_secure_and_the_session_cookie_is_http_only(production: dict[str, Any]) -> None:
    assert production["signed_in"]["status"] == 302
    cookies = production["signed_in"]["cookies"]
    assert cookies["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert cookies["csrftoken"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_production_pages_say_production(production: dict[str, Any]) -> None:
    content = production["my_org"]["content"]
    assert production["my_org"]["status"] == 200
    assert '<div class="env-strip" data-environment="production">' in content
    assert "Sandbox" not in content

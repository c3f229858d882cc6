"""Identity providers the browser tests start on 127.0.0.1: an OpenID provider (node) and a SAML IdP."""

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from merge_sandbox.launch import free_port, wait_until_up

# Not from tests.conftest: the SAML IdP runs this package as its own process, before Django is set up.
ROOT = Path(__file__).resolve().parents[3]
OIDC_DIR = Path(__file__).resolve().parent / "oidc"


def install_oidc_provider() -> None:
    """`npm ci` from the committed lock file into the git-ignored node_modules, once per checkout."""
    installed = OIDC_DIR / "node_modules" / ".package-lock.json"
    lock = OIDC_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the OpenID Connect browser tests (Node.js 20 or later).")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True, timeout=300
    )


def start_oidc_provider() -> tuple[str, subprocess.Popen[bytes]]:
    install_oidc_provider()
    port = free_port()
    node = shutil.which("node") or "node"
    process = subprocess.Popen([node, "server.mjs", str(port)], cwd=OIDC_DIR, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/_control/health", process)
    return url, process


def start_saml_idp() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.idp.saml_idp", "--port", str(port)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/health", process)
    return url, process


def set_mode(idp: str, mode: str) -> None:
    httpx.post(f"{idp}/_control/mode", json={"mode": mode}, timeout=10).raise_for_status()


def register_oidc_client(idp: str, redirect_uri: str) -> tuple[str, str]:
    """What an IdP admin does in Okta or Entra ID: register the app with our redirect URI."""
    response = httpx.post(f"{idp}/reg", json={"redirect_uris": [redirect_uri]}, timeout=10)
    response.raise_for_status()
    body = response.json()
    return str(body["client_id"]), str(body["client_secret"])

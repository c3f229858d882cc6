"""Start a real sandbox process for the session and talk to it over HTTP, as the product does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from merge import Merge

from merge_sandbox import launch
from merge_sandbox.launch import free_port

PROD_KEY = "test-suite-production-key"
TEST_KEY = "test-suite-test-key"
WEBHOOK_KEY = "test-suite-webhook-key"


class WebhookReceiver:
    """Records every delivery; answers with queued status codes (200 when the queue is empty)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                # Decide the answer on arrival, so a slow answer cannot take a later request's status.
                with receiver.lock:
                    delay = receiver.delays.pop(0) if receiver.delays else 0.0
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {
                            "raw": raw,
                            "body": json.loads(raw),
                            "signature": self.headers.get("X-Merge-Webhook-Signature"),
                            "status": status,
                        }
                    )
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/merge-webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, account_id: str, event: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            bodies = [r["body"] for r in self.received]
        return [
            b
            for b in bodies
            if (b.get("linked_account") or {}).get("id") == account_id
            and (event is None or b["hook"]["event"] == event)
        ]

    def wait_for(
        self, account_id: str, event: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(account_id, event)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{event} x{count} not received for {account_id}; got {self.events(account_id)}")


def signature_of(raw: bytes) -> str:
    digest = hmac.new(WEBHOOK_KEY.encode(), raw, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Sandbox:
    """A running sandbox plus the few steps most tests share."""

    def __init__(self, url: str, receiver: WebhookReceiver) -> None:
        self.url = url
        self.receiver = receiver
        self.http = httpx.Client(base_url=url, timeout=30)
        self.process: subprocess.Popen[bytes] | None = None
        self.directory: Path | None = None

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def control(self, method: str, path: str, body: Any = None, expect: int | None = 200) -> Any:
        response = self.http.request(method, path, json=body)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def tenant(
        self, provider: str = "bamboohr", size: int = 30, seed: int = 7, **extra: Any
    ) -> dict[str, Any]:
        name = f"{provider.title()} {uuid.uuid4().hex[:6]}"
        return self.control(
            "POST",
            "/_sandbox/tenants",
            {"provider": provider, "name": name, "size": size, "seed": seed, **extra},
            201,
        )

    def merge(self, account_token: str | None = None, test: bool = False) -> Merge:
        return Merge(
            api_key=TEST_KEY if test else PROD_KEY, account_token=account_token, base_url=self.api, timeout=30
        )

    def link_token(self, origin_id: str, category: str = "hris", test: bool = False, **extra: Any) -> str:
        client = getattr(self.merge(test=test), category)
        created = client.link_token.create(
            end_user_email_address="admin@customer.example",
            end_user_organization_name="Customer",
            end_user_origin_id=origin_id,
            categories=[category],
            **extra,
        )
        return str(created.link_token)

    def complete(self, link_token: str, tenant: dict[str, Any], password: str | None = None) -> str:
        body = {
            "tenant": tenant["subdomain"],
            "username": tenant["username"],
            "password": password or tenant["password"],
        }
        return str(self.control("POST", f"/_sandbox/link/{link_token}/complete", body)["public_token"])

    def link(
        self, tenant: dict[str, Any], test: bool = False, origin_id: str | None = None
    ) -> dict[str, str]:
        """Link a tenant, wait for the initial sync, and return the account's id and token."""
        category = tenant["category"]
        origin = origin_id or f"org-{uuid.uuid4().hex[:10]}"
        public = self.complete(self.link_token(origin, category, test), tenant)
        exchanged = getattr(self.merge(test=test), category).account_token.retrieve(public_token=public)
        self.sync(exchanged.id)
        return {"id": exchanged.id, "token": exchanged.account_token, "origin": origin}

    def sync(self, account_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "/_sandbox/sync", {"linked_account_id": account_id})[
            "results"
        ][0]
        return result

    def headers(self, token: str | None = None, test: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {TEST_KEY if test else PROD_KEY}"}
        if token:
            headers["X-Account-Token"] = token
        return headers

    def get(self, path: str, token: str | None = None, test: bool = False, **params: Any) -> httpx.Response:
        return self.http.get(f"/api{path}", headers=self.headers(token, test), params=params)


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.server.shutdown()


def start_sandbox(directory: Path, receiver: WebhookReceiver) -> tuple[subprocess.Popen[bytes], Sandbox]:
    keys = {
        "MERGE_SANDBOX_API_KEY": PROD_KEY,
        "MERGE_SANDBOX_TEST_API_KEY": TEST_KEY,
        "MERGE_SANDBOX_WEBHOOK_KEY": WEBHOOK_KEY,
        "MERGE_SANDBOX_WEBHOOK_URL": receiver.url,
    }
    launched = launch.start_sandbox(directory / "sandbox.sqlite3", env=keys, log=directory / "server.log")
    box = Sandbox(launched.url, receiver)
    box.directory = directory
    box.control("PUT", "/_sandbox/config", {"webhook_retry_delay": 0.2, "webhook_timeout": 5})
    return launched.process, box


def stop_sandbox(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Sandbox]:
    process, box = start_sandbox(tmp_path_factory.mktemp("sandbox"), receiver)
    yield box
    stop_sandbox(process)


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Sandbox]:
    """A sandbox of the module's own, for tests that move its clock or restart it."""
    process, box = start_sandbox(tmp_path_factory.mktemp("own-sandbox"), receiver)
    box.process = process
    yield box
    if box.process.poll() is None:
        stop_sandbox(box.process)


@pytest.fixture
def faults_cleared(sandbox: Sandbox) -> Iterator[Sandbox]:
    """For tests that inject platform faults: whatever they set is cleared afterwards."""
    sandbox.control("DELETE", "/_sandbox/faults")
    yield sandbox
    sandbox.control("DELETE", "/_sandbox/faults")

"""Merge Link in headless Chromium, embedded in a page on another origin with a strict CSP."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from merge_sandbox.launch import free_port

from .conftest import Sandbox

pytestmark = pytest.mark.browser  # make test installs Debian's chromium when it is missing

PAGE = """<!doctype html><html><body>
<button id="open">Connect HRIS</button><p id="result"></p>
<script src="{sandbox}/link/initialize.js"></script>
<script nonce="n0nce">
  window.exits = 0;
  MergeLink.initialize({{
    linkToken: "{token}",
    onSuccess: function (publicToken, info) {{
      var result = document.getElementById("result");
      result.textContent = publicToken + " " + info.integration + " " + info.category;
      result.setAttribute("data-done", "1");
    }},
    onExit: function () {{
      window.exits += 1;
      document.body.setAttribute("data-exits", String(window.exits));
    }},
    onReady: function () {{ document.body.setAttribute("data-ready", "1"); }}
  }});
  document.getElementById("open").addEventListener("click", function () {{ MergeLink.openLink(); }});
</script></body></html>"""


@pytest.fixture
def product_page(sandbox: Sandbox) -> Iterator[Any]:
    """Serves PAGE for whatever link token the test sets, like the product's settings page."""
    state: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = PAGE.format(sandbox=sandbox.url, token=state["token"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; script-src 'self' 'nonce-n0nce' {sandbox.url}; frame-src {sandbox.url}",
            )
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_modal_links_with_the_right_password_only(sandbox: Sandbox, product_page: Any, browser: Any) -> None:
    state, url = product_page
    tenant = sandbox.tenant("bamboohr")
    state["token"] = sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}")
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.click("#open")
    assert page.locator("#merge-link-overlay").is_visible()
    frame = page.frame_locator("#merge-link-iframe")
    frame.get_by_role("button", name="BambooHR").click()
    frame.get_by_label("Tenant").fill(tenant["subdomain"])
    frame.get_by_label("Username").fill(tenant["username"])
    frame.get_by_label("Password").fill("wrong")
    frame.get_by_role("button", name="Connect").click()
    frame.get_by_text("Invalid credentials").wait_for()
    frame.get_by_label("Password").fill(tenant["password"])
    frame.get_by_role("button", name="Connect").click()
    frame.get_by_text("Success").wait_for()
    page.wait_for_selector("#result[data-done='1']")
    public, integration, category = page.inner_text("#result").split()
    assert (integration, category) == ("bamboohr", "hris")
    assert page.locator("#merge-link-overlay").count() == 0
    exchanged = sandbox.merge().hris.account_token.retrieve(public_token=public)
    assert exchanged.integration.slug == "bamboohr"
    page.close()


def test_close_button_calls_on_exit(sandbox: Sandbox, product_page: Any, browser: Any) -> None:
    state, url = product_page
    state["token"] = sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}", integration="workday")
    page = browser.new_page()
    page.goto(url)
    page.click("#open")
    frame = page.frame_locator("#merge-link-iframe")
    frame.get_by_label("Username").wait_for()
    frame.get_by_role("button", name="Close").click()
    page.wait_for_selector("body[data-exits='1']")
    assert page.locator("#merge-link-overlay").count() == 0
    page.close()


def test_relink_in_the_modal_keeps_the_account(sandbox: Sandbox, product_page: Any, browser: Any) -> None:
    state, url = product_page
    tenant = sandbox.tenant("workday", size=5)
    account = sandbox.link(tenant)
    password = sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/reset-password", {})["password"]
    sandbox.sync(account["id"])
    state["token"] = sandbox.link_token(account["origin"])
    page = browser.new_page()
    page.goto(url)
    page.click("#open")
    frame = page.frame_locator("#merge-link-iframe")
    tenant_field = frame.get_by_label("Tenant")
    assert tenant_field.input_value() == tenant["subdomain"]
    assert tenant_field.get_attribute("readonly") is not None
    frame.get_by_label("Username").fill(tenant["username"])
    frame.get_by_label("Password").fill(password)
    frame.get_by_role("button", name="Connect").click()
    page.wait_for_selector("#result[data-done='1']")
    public = page.inner_text("#result").split()[0]
    exchanged = sandbox.merge().hris.account_token.retrieve(public_token=public)
    assert (exchanged.id, exchanged.account_token) == (account["id"], account["token"])
    page.close()


def test_magic_link_completes_full_page(sandbox: Sandbox, browser: Any) -> None:
    tenant = sandbox.tenant("hubspot", size=3)
    origin = f"org-{uuid.uuid4().hex[:8]}"
    created = sandbox.merge().crm.link_token.create(
        end_user_email_address="a@b.example",
        end_user_organization_name="B",
        end_user_origin_id=origin,
        categories=["crm"],
        should_create_magic_link_url=True,
        link_expiry_mins=10080,
        integration="hubspot",
    )
    page = browser.new_page()
    page.goto(created.magic_link_url)
    assert page.get_by_role("button", name="Close").count() == 0
    page.get_by_label("Tenant").fill(tenant["subdomain"])
    page.get_by_label("Username").fill(tenant["username"])
    page.get_by_label("Password").fill(tenant["password"])
    page.get_by_role("button", name="Connect").click()
    page.get_by_text("Your account is connected").wait_for()
    [item] = sandbox.merge().crm.linked_accounts.list(end_user_origin_id=origin).results
    assert (item.integration.slug, item.status) == ("hubspot", "COMPLETE")
    page.close()

"""Time-driven behaviour on a sandbox of this module's own: expiry, future-dated changes, periodic sync."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx

from .conftest import Sandbox, start_sandbox, stop_sandbox


def _today(sandbox: Sandbox) -> dt.date:
    return dt.date.fromisoformat(sandbox.control("GET", "/_sandbox/clock")["now"][:10])


def test_api_credential_expires_as_the_clock_passes_a_year(own_sandbox: Sandbox) -> None:
    account = own_sandbox.link(own_sandbox.tenant("hubspot", size=3))
    own_sandbox.control("POST", "/_sandbox/clock/advance", {"days": 366})
    assert own_sandbox.sync(account["id"])["issue"]["error_description"] == "Expired API credentials"


def test_mfa_session_expires_after_thirty_days(own_sandbox: Sandbox) -> None:
    account = own_sandbox.link(own_sandbox.tenant("workday", size=3))
    own_sandbox.control("POST", "/_sandbox/clock/advance", {"days": 31})
    assert (
        own_sandbox.sync(account["id"])["issue"]["error_description"] == "Expired multi-factor authentication"
    )


def test_future_dated_termination_takes_effect_on_its_date(own_sandbox: Sandbox) -> None:
    tenant = own_sandbox.tenant("bamboohr", size=20)
    account = own_sandbox.link(tenant)
    [person] = own_sandbox.control("GET", f"/_sandbox/tenants/{tenant['id']}/people?limit=1")["results"][-1:]
    leaving = own_sandbox.control(
        "GET", f"/_sandbox/tenants/{tenant['id']}/people?after={person['remote_id']}&limit=30"
    )["results"][-1]
    day = (_today(own_sandbox) + dt.timedelta(days=10)).isoformat()
    own_sandbox.control(
        "POST", f"/_sandbox/tenants/{tenant['id']}/people/{leaving['remote_id']}/terminate", {"date": day}
    )
    own_sandbox.sync(account["id"])
    [before] = own_sandbox.get("/hris/v1/employees", account["token"], remote_id=leaving["remote_id"]).json()[
        "results"
    ]
    assert (before["employment_status"], before["termination_date"]) == ("ACTIVE", f"{day}T00:00:00Z")

    own_sandbox.control("POST", "/_sandbox/clock/advance", {"days": 11})
    own_sandbox.sync(account["id"])
    [after] = own_sandbox.get("/hris/v1/employees", account["token"], remote_id=leaving["remote_id"]).json()[
        "results"
    ]
    assert after["employment_status"] == "INACTIVE"
    assert after["modified_at"] > before["modified_at"]


def test_link_tokens_and_magic_links_expire(own_sandbox: Sandbox) -> None:
    tenant = own_sandbox.tenant("hibob", size=3)
    short = own_sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}")
    magic = own_sandbox.merge().hris.link_token.create(
        end_user_email_address="a@b.example",
        end_user_organization_name="B",
        end_user_origin_id="org-magic",
        categories=["hris"],
        should_create_magic_link_url=True,
        link_expiry_mins=10080,
    )
    assert magic.magic_link_url.startswith(own_sandbox.url + "/link/m/")
    assert httpx.get(magic.magic_link_url).status_code == 200
    own_sandbox.control("POST", "/_sandbox/clock/advance", {"minutes": 31})
    expired = own_sandbox.http.post(
        f"/_sandbox/link/{short}/complete",
        json={"tenant": tenant["subdomain"], "username": tenant["username"], "password": tenant["password"]},
    )
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    assert httpx.get(magic.magic_link_url).status_code == 200
    own_sandbox.control("POST", "/_sandbox/clock/advance", {"days": 7})
    page = httpx.get(magic.magic_link_url)
    assert page.status_code == 410 and "This link has expired" in page.text


def test_periodic_sync_picks_up_changes_without_being_asked(own_sandbox: Sandbox) -> None:
    tenant = own_sandbox.tenant("bamboohr", size=5)
    account = own_sandbox.link(tenant)
    hired = own_sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/people", {"title": "Analyst"}, 201)
    own_sandbox.control("PUT", "/_sandbox/config", {"sync_interval": 1})
    try:
        deadline = time.monotonic() + 10
        while not own_sandbox.get(
            "/hris/v1/employees", account["token"], remote_id=hired["remote_id"]
        ).json()["results"]:
            assert time.monotonic() < deadline, "the periodic sync never ran"
            time.sleep(0.2)
    finally:
        own_sandbox.control("PUT", "/_sandbox/config", {"sync_interval": 0})


def test_state_survives_a_restart(own_sandbox: Sandbox) -> None:
    account = own_sandbox.link(own_sandbox.tenant("hibob", size=8))
    before = own_sandbox.get("/hris/v1/employees", account["token"]).json()
    assert own_sandbox.process is not None and own_sandbox.directory is not None
    stop_sandbox(own_sandbox.process)
    process, restarted = start_sandbox(own_sandbox.directory, own_sandbox.receiver)
    own_sandbox.process = process
    own_sandbox.url, own_sandbox.http = restarted.url, restarted.http
    assert restarted.get("/hris/v1/employees", account["token"]).json() == before

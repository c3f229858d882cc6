"""Each way a provider can turn Merge away, what Merge shows for it, and how it is repaired."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sandbox

CAUSES = [
    ("bamboohr", "reset-password", "Invalid login credentials"),
    ("hubspot", "expire-credential", "Expired API credentials"),
    ("hibob", "revoke-permission", "Missing permission"),
    ("workday", "expire-mfa", "Expired multi-factor authentication"),
    ("salesforce", "reset-password", "Invalid login credentials"),
]


def _break(sandbox: Sandbox, tenant: dict[str, Any], action: str) -> dict[str, Any]:
    result: dict[str, Any] = sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/{action}", {})
    return result


@pytest.mark.parametrize(("provider", "action", "description"), CAUSES)
def test_provider_refusal_needs_relink_and_keeps_serving_old_data(
    sandbox: Sandbox, provider: str, action: str, description: str
) -> None:
    tenant = sandbox.tenant(provider, size=12)
    account = sandbox.link(tenant)
    category = tenant["category"]
    people = "employees" if category == "hris" else "users"
    before = sandbox.get(f"/{category}/v1/{people}", account["token"]).json()["results"]

    changed = _break(sandbox, tenant, action)
    failed = sandbox.sync(account["id"])
    assert failed["result"] == "FAILED" and failed["status"] == "RELINK_NEEDED"

    [item] = sandbox.get(f"/{category}/v1/linked-accounts", id=account["id"]).json()["results"]
    assert item["status"] == "RELINK_NEEDED" and item["status_detail"]
    [issue] = sandbox.get(f"/{category}/v1/issues", linked_account_id=account["id"]).json()["results"]
    assert (issue["status"], issue["error_description"]) == ("ONGOING", description)
    statuses = sandbox.get(f"/{category}/v1/sync-status", account["token"]).json()["results"]
    assert {s["status"] for s in statuses} == {"FAILED"}
    assert sandbox.get(f"/{category}/v1/{people}", account["token"]).json()["results"] == before
    [hook] = sandbox.receiver.wait_for(account["id"], "Issue.new")
    assert hook["data"]["error_description"] == description
    assert sandbox.sync(account["id"])["result"] == "SKIPPED"

    if action == "revoke-permission":
        with pytest.raises(AssertionError, match="Missing permission"):
            sandbox.complete(sandbox.link_token(account["origin"], category), tenant)
        sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/grant-permission", {})
    password = changed.get("password") if action == "reset-password" else None
    public = sandbox.complete(sandbox.link_token(account["origin"], category), tenant, password=password)
    exchanged = sandbox.get(f"/{category}/v1/account-token/{public}").json()
    assert (exchanged["id"], exchanged["account_token"]) == (account["id"], account["token"])
    assert sandbox.sync(account["id"])["result"] == "DONE"
    assert sandbox.get(f"/{category}/v1/account-details", account["token"]).json()["status"] == "COMPLETE"
    assert sandbox.get(f"/{category}/v1/issues/{issue['id']}").json()["status"] == "RESOLVED"
    sandbox.receiver.wait_for(account["id"], "Issue.resolved")


def test_expire_mfa_is_refused_for_providers_without_mfa(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant("bamboohr", size=3)
    response = sandbox.http.post(f"/_sandbox/tenants/{tenant['id']}/expire-mfa")
    assert response.status_code == 400


def test_offline_provider_opens_an_issue_that_resolves_a_day_after_the_last_failure(
    own_sandbox: Sandbox,
) -> None:
    """Issue item 17: as Merge documents, the issue resolves once syncs succeed and a day has passed since the
    last failure, not at the first success."""
    sandbox = own_sandbox
    tenant = sandbox.tenant("workday", size=10)
    account = sandbox.link(tenant)
    sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/offline")
    first = sandbox.sync(account["id"])
    second = sandbox.sync(account["id"])
    assert first["result"] == second["result"] == "FAILED"
    assert first["issue"]["id"] == second["issue"]["id"]
    assert second["issue"]["error_description"] == "Third party offline"
    assert second["issue"]["last_incident_time"] > first["issue"]["last_incident_time"]
    assert sandbox.get("/hris/v1/account-details", account["token"]).json()["status"] == "COMPLETE"
    assert len(sandbox.receiver.wait_for(account["id"], "Issue.new")) == 1

    sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/online")
    assert sandbox.sync(account["id"])["result"] == "DONE"
    issue_url = f"/hris/v1/issues/{first['issue']['id']}"
    assert sandbox.get(issue_url).json()["status"] == "ONGOING"
    sandbox.control("POST", "/_sandbox/clock/advance", {"hours": 23})
    assert sandbox.sync(account["id"])["result"] == "DONE"
    assert sandbox.get(issue_url).json()["status"] == "ONGOING"
    sandbox.control("POST", "/_sandbox/clock/advance", {"hours": 1})
    assert sandbox.sync(account["id"])["result"] == "DONE"
    issue = sandbox.get(issue_url).json()
    assert issue["status"] == "RESOLVED"
    sandbox.receiver.wait_for(account["id"], "Issue.resolved")
    statuses = sandbox.get("/hris/v1/sync-status", account["token"]).json()["results"]
    assert {s["status"] for s in statuses} == {"DONE"}

"""Keys, account tokens, linked-accounts, delete-account and resync."""

from __future__ import annotations

import pytest
from merge.core.api_error import ApiError

from .conftest import Sandbox


def test_authentication_errors(sandbox: Sandbox) -> None:
    account = sandbox.link(sandbox.tenant(size=3))
    no_key = sandbox.http.get("/api/hris/v1/linked-accounts")
    assert no_key.status_code == 401
    bad_key = sandbox.http.get("/api/hris/v1/linked-accounts", headers={"Authorization": "Bearer nope"})
    assert bad_key.status_code == 401
    missing = sandbox.get("/hris/v1/employees")
    assert (missing.status_code, missing.json()) == (
        401,
        {"detail": "Account Token must be passed in as an X-Account-Token header."},
    )
    assert sandbox.get("/hris/v1/employees", "not-a-token").status_code == 401
    assert sandbox.get("/crm/v1/users", account["token"]).status_code == 400
    assert sandbox.get("/hris/v1/linked-accounts", account["token"]).status_code == 200


def test_test_keys_see_and_create_test_accounts_only(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=3)
    test_account = sandbox.link(tenant, test=True)
    prod_account = sandbox.link(tenant)
    details = sandbox.get("/hris/v1/account-details", test_account["token"], test=True).json()
    assert details["account_type"] == "TEST" and details["is_duplicate"] is None
    assert sandbox.get("/hris/v1/account-details", test_account["token"]).status_code == 401
    assert sandbox.get("/hris/v1/account-details", prod_account["token"], test=True).status_code == 401

    def ids(test: bool, **params: str) -> set[str]:
        return {
            a["id"]
            for a in sandbox.get("/hris/v1/linked-accounts", test=test, page_size=100, **params).json()[
                "results"
            ]
        }

    assert test_account["id"] in ids(True) and prod_account["id"] not in ids(True)
    assert prod_account["id"] in ids(False) and test_account["id"] not in ids(False)
    assert test_account["id"] in ids(False, is_test_account="true")
    assert ids(False, end_user_origin_id=prod_account["origin"]) == {prod_account["id"]}


def test_delete_account_forgets_the_token(sandbox: Sandbox) -> None:
    account = sandbox.link(sandbox.tenant(size=3))
    client = sandbox.merge(account["token"])
    client.hris.delete_account.delete()
    with pytest.raises(ApiError) as error:
        client.hris.employees.list(request_options={"max_retries": 0})
    assert error.value.status_code == 401
    assert not sandbox.get("/hris/v1/linked-accounts", id=account["id"]).json()["results"]
    [hook] = sandbox.receiver.wait_for(account["id"], "LinkedAccount.deleted")
    assert hook["linked_account"]["id"] == account["id"]


def test_delete_account_answers_an_empty_json_object(sandbox: Sandbox) -> None:
    """Issue item 19: 200 with `{}` as application/json, as the current specs say."""
    account = sandbox.link(sandbox.tenant(size=3))
    response = sandbox.http.post("/api/hris/v1/delete-account", headers=sandbox.headers(account["token"]))
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json() == {}


def test_resync_returns_a_bare_array_and_picks_up_changes(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=5)
    account = sandbox.link(tenant)
    hired = sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/people", {}, 201)
    statuses = sandbox.merge(account["token"]).hris.force_resync.sync_status_resync_create()
    assert {s.status for s in statuses} == {"SYNCING"}
    assert {s.model_id for s in statuses} >= {"hris.Employee"}
    sandbox.sync(account["id"])
    assert sandbox.get("/hris/v1/employees", account["token"], remote_id=hired["remote_id"]).json()["results"]
    assert {s["status"] for s in sandbox.get("/hris/v1/sync-status", account["token"]).json()["results"]} == {
        "DONE"
    }


def test_one_linked_account_per_origin_and_category(sandbox: Sandbox) -> None:
    hris_tenant, crm_tenant = sandbox.tenant("hibob", size=3), sandbox.tenant("hubspot", size=3)
    first = sandbox.link(hris_tenant)
    crm = sandbox.link(crm_tenant, origin_id=first["origin"])
    again = sandbox.link(hris_tenant, origin_id=first["origin"])
    assert again["id"] == first["id"] and again["token"] == first["token"]
    assert crm["id"] != first["id"]


def test_control_can_set_status_and_inject_issues(sandbox: Sandbox) -> None:
    account = sandbox.link(sandbox.tenant(size=3))
    sandbox.control(
        "POST",
        f"/_sandbox/linked-accounts/{account['id']}/status",
        {"status": "IDLE", "status_detail": "No activity for two weeks"},
    )
    [item] = sandbox.get("/hris/v1/linked-accounts", id=account["id"]).json()["results"]
    assert (item["status"], item["status_detail"]) == ("IDLE", "No activity for two weeks")
    issue = sandbox.control(
        "POST",
        "/_sandbox/issues",
        {"linked_account_id": account["id"], "error_description": "Missing permission"},
        201,
    )
    assert issue["status"] == "ONGOING"
    listed = sandbox.get("/hris/v1/issues", status="ONGOING", linked_account_id=account["id"]).json()[
        "results"
    ]
    assert [i["id"] for i in listed] == [issue["id"]]
    resolved = sandbox.control(
        "POST",
        "/_sandbox/issues",
        {"linked_account_id": account["id"], "error_description": "Missing permission", "status": "RESOLVED"},
        201,
    )
    assert resolved["status"] == "RESOLVED"

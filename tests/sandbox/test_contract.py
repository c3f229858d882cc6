"""Every implemented route answers in the shape Merge's published OpenAPI documents describe."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError

from .conftest import Sandbox
from .openapi import assert_valid

HRIS = "hris-current.yaml"
CRM = "crm-current.yaml"


@pytest.fixture(scope="module")
def hris_account(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.link(sandbox.tenant("workday", size=60, seed=5))


@pytest.fixture(scope="module")
def crm_account(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.link(sandbox.tenant("salesforce", size=30, seed=5))


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("model", ["employees", "employments", "groups", "locations", "companies"])
@pytest.mark.parametrize("params", [{}, {"include_remote_data": "true", "include_deleted_data": "true"}])
def test_hris_lists_and_retrieves_match_the_spec(
    sandbox: Sandbox, hris_account: dict[str, str], model: str, params: dict[str, str]
) -> None:
    page = _ok(sandbox.get(f"/hris/v1/{model}", hris_account["token"], page_size=5, **params))
    assert page["results"]
    assert_valid(HRIS, f"/hris/v1/{model}", page)
    one = _ok(sandbox.get(f"/hris/v1/{model}/{page['results'][0]['id']}", hris_account["token"], **params))
    assert_valid(HRIS, f"/hris/v1/{model}/{{id}}", one)
    if params:
        assert one["remote_data"][0]["data"]


def test_teams_match_the_2023_spec(sandbox: Sandbox, hris_account: dict[str, str]) -> None:
    page = _ok(sandbox.get("/hris/v1/teams", hris_account["token"]))
    assert_valid("hris-2023.yaml", "/teams", page)
    assert_valid(
        "hris-2023.yaml",
        "/teams/{id}",
        _ok(sandbox.get(f"/hris/v1/teams/{page['results'][0]['id']}", hris_account["token"])),
    )


@pytest.mark.parametrize("model", ["users", "accounts", "contacts"])
def test_crm_lists_and_retrieves_match_the_spec(
    sandbox: Sandbox, crm_account: dict[str, str], model: str
) -> None:
    page = _ok(sandbox.get(f"/crm/v1/{model}", crm_account["token"], page_size=5, include_remote_data="true"))
    assert page["results"]
    assert_valid(CRM, f"/crm/v1/{model}", page)
    one = _ok(sandbox.get(f"/crm/v1/{model}/{page['results'][0]['id']}", crm_account["token"]))
    assert_valid(CRM, f"/crm/v1/{model}/{{id}}", one)


@pytest.mark.parametrize(("category", "spec"), [("hris", HRIS), ("crm", CRM)])
def test_account_routes_match_the_spec(
    sandbox: Sandbox, hris_account: dict[str, str], crm_account: dict[str, str], category: str, spec: str
) -> None:
    token = (hris_account if category == "hris" else crm_account)["token"]
    assert_valid(
        spec, f"/{category}/v1/account-details", _ok(sandbox.get(f"/{category}/v1/account-details", token))
    )
    assert_valid(spec, f"/{category}/v1/sync-status", _ok(sandbox.get(f"/{category}/v1/sync-status", token)))
    assert_valid(spec, f"/{category}/v1/linked-accounts", _ok(sandbox.get(f"/{category}/v1/linked-accounts")))
    resync = sandbox.http.post(f"/api/{category}/v1/sync-status/resync", headers=sandbox.headers(token))
    assert isinstance(_ok(resync), list)
    assert_valid(spec, f"/{category}/v1/sync-status/resync", resync.json(), "post")


@pytest.mark.parametrize(("category", "spec"), [("hris", HRIS), ("crm", CRM)])
def test_delete_account_matches_the_current_spec(sandbox: Sandbox, category: str, spec: str) -> None:
    """Issue item 19: delete-account answers `{}` as application/json, the current specs' 200 response."""
    account = sandbox.link(sandbox.tenant("workday" if category == "hris" else "salesforce", size=3))
    response = sandbox.http.post(
        f"/api/{category}/v1/delete-account", headers=sandbox.headers(account["token"])
    )
    assert response.headers["content-type"] == "application/json"
    assert _ok(response) == {}
    assert_valid(spec, f"/{category}/v1/delete-account", response.json(), "post")


def test_link_and_issue_routes_match_the_spec(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant("hubspot", size=5)
    body = {
        "end_user_email_address": "a@b.example",
        "end_user_organization_name": "B",
        "end_user_origin_id": f"org-{uuid.uuid4().hex[:8]}",
        "categories": ["crm"],
        "should_create_magic_link_url": True,
        "link_expiry_mins": 10080,
    }
    link = _ok(sandbox.http.post("/api/crm/v1/link-token", headers=sandbox.headers(), json=body))
    assert_valid(CRM, "/crm/v1/link-token", link, "post")
    public = sandbox.complete(link["link_token"], tenant)
    exchanged = _ok(sandbox.get(f"/crm/v1/account-token/{public}"))
    assert_valid(CRM, "/crm/v1/account-token/{public_token}", exchanged)
    sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/offline")
    sandbox.sync(exchanged["id"])
    issues = _ok(sandbox.get("/crm/v1/issues", linked_account_id=exchanged["id"]))
    assert_valid(CRM, "/crm/v1/issues", issues)
    assert_valid(CRM, "/crm/v1/issues/{id}", _ok(sandbox.get(f"/crm/v1/issues/{issues['results'][0]['id']}")))


def test_the_contract_check_catches_a_wrong_enum_and_a_bad_uuid(
    sandbox: Sandbox, hris_account: dict[str, str]
) -> None:
    page = _ok(sandbox.get("/hris/v1/employees", hris_account["token"], page_size=1))
    bad_enum = {**page, "results": [{**page["results"][0], "employment_status": "SUSPENDED"}]}
    bad_id = {**page, "results": [{**page["results"][0], "manager": "not-a-uuid"}]}
    for body in (bad_enum, bad_id):
        with pytest.raises(ValidationError):
            assert_valid(HRIS, "/hris/v1/employees", body)

"""Link, exchange, relink: the flows the product drives, through the official SDK."""

from __future__ import annotations

import uuid

import pytest
from merge.core.api_error import ApiError

from .conftest import Sandbox, signature_of


def test_sdk_links_an_account_and_pages_through_every_employee(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant("workday", size=250, seed=11)
    origin = f"org-{uuid.uuid4().hex[:8]}"
    merge = sandbox.merge()
    created = merge.hris.link_token.create(
        end_user_email_address="it@acme.example",
        end_user_organization_name="Acme",
        end_user_origin_id=origin,
        categories=["hris"],
        integration="workday",
    )
    assert created.integration_name == "Workday"
    public = sandbox.complete(created.link_token, tenant)
    exchanged = merge.hris.account_token.retrieve(public_token=public)
    assert exchanged.integration.slug == "workday" and exchanged.integration.categories == ["hris"]
    sandbox.sync(exchanged.id)

    client = sandbox.merge(exchanged.account_token)
    seen, cursor, pages = [], None, 0
    while True:
        page = client.hris.employees.list(cursor=cursor, page_size=100, request_options={"max_retries": 0})
        pages += 1
        assert len(page.results) <= 100
        seen.extend(page.results)
        if not (cursor := page.next):
            break
    assert pages == 3
    assert len(seen) == 250 and len({e.id for e in seen}) == 250
    assert all(e.work_email.endswith(f"@{tenant['domain']}") for e in seen)
    assert sum(e.employment_status == "ACTIVE" for e in seen) > 200

    details = client.hris.account_details.retrieve()
    assert (details.id, details.status, details.end_user_origin_id) == (exchanged.id, "COMPLETE", origin)
    assert details.integration == "Workday" and details.account_type == "PRODUCTION"
    assert merge.hris.issues.list(linked_account_id=exchanged.id).results == []
    statuses = client.hris.sync_status.list().results
    assert {s.model_id for s in statuses} >= {"hris.Employee", "hris.Team", "hris.Group"}
    assert all(s.status == "DONE" and s.last_sync_result == "DONE" for s in statuses)


def test_linked_webhook_is_signed_and_carries_the_account_token(sandbox: Sandbox) -> None:
    account = sandbox.link(sandbox.tenant())
    [hook] = sandbox.receiver.wait_for(account["id"], "LinkedAccount.linked")
    assert hook["data"]["account_token"] == account["token"]
    assert hook["linked_account"]["end_user_origin_id"] == account["origin"]
    raw = next(r for r in sandbox.receiver.received if r["body"] == hook)
    assert raw["signature"] == signature_of(raw["raw"])
    sandbox.receiver.wait_for(account["id"], "LinkedAccount.sync_completed")


def test_wrong_credentials_are_refused_and_change_nothing(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant()
    token = sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}")
    body = {"tenant": tenant["subdomain"], "username": tenant["username"], "password": "not-the-password"}
    response = sandbox.http.post(f"/_sandbox/link/{token}/complete", json=body)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid credentials"}
    assert sandbox.complete(token, tenant)


def test_public_token_exchanges_once(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant()
    public = sandbox.complete(sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}"), tenant)
    merge = sandbox.merge()
    merge.hris.account_token.retrieve(public_token=public)
    with pytest.raises(ApiError) as error:
        merge.hris.account_token.retrieve(public_token=public, request_options={"max_retries": 0})
    assert error.value.status_code == 404


def test_link_token_requires_the_documented_fields(sandbox: Sandbox) -> None:
    response = sandbox.http.post(
        "/api/hris/v1/link-token",
        headers=sandbox.headers(),
        json={"end_user_email_address": "a@b.example", "categories": ["hris"]},
    )
    assert response.status_code == 400
    assert "end_user_origin_id" in response.json()["detail"]
    assert "end_user_organization_name" in response.json()["detail"]


def test_link_token_is_single_use(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant()
    token = sandbox.link_token(f"org-{uuid.uuid4().hex[:8]}")
    sandbox.complete(token, tenant)
    body = {"tenant": tenant["subdomain"], "username": tenant["username"], "password": tenant["password"]}
    assert sandbox.http.post(f"/_sandbox/link/{token}/complete", json=body).status_code == 410


def test_password_reset_needs_relink_and_relink_restores_the_same_account(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant("hibob", size=40)
    account = sandbox.link(tenant)
    client = sandbox.merge(account["token"])
    before = client.hris.employees.list(page_size=100).results

    new_password = sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/reset-password", {})["password"]
    assert sandbox.sync(account["id"])["result"] == "FAILED"

    [item] = sandbox.merge().hris.linked_accounts.list(id=account["id"]).results
    assert item.status == "RELINK_NEEDED" and "credentials" in item.status_detail
    [issue] = sandbox.merge().hris.issues.list(linked_account_id=account["id"]).results
    assert (issue.status, issue.error_description) == ("ONGOING", "Invalid login credentials")
    assert {s.status for s in client.hris.sync_status.list().results} == {"FAILED"}
    assert [e.id for e in client.hris.employees.list(page_size=100).results] == [e.id for e in before]
    [new_hook] = sandbox.receiver.wait_for(account["id"], "Issue.new")
    assert new_hook["data"]["id"] == issue.id

    relink = sandbox.link_token(account["origin"])
    page = sandbox.http.get(f"/link/{relink}")
    assert f'value="{tenant["subdomain"]}" readonly' in page.text
    with pytest.raises(AssertionError):
        sandbox.complete(relink, tenant)
    public = sandbox.complete(relink, tenant, password=new_password)
    exchanged = sandbox.merge().hris.account_token.retrieve(public_token=public)
    assert (exchanged.id, exchanged.account_token) == (account["id"], account["token"])
    assert sandbox.sync(account["id"])["result"] == "DONE"
    assert client.hris.account_details.retrieve().status == "COMPLETE"
    assert sandbox.merge().hris.issues.retrieve(issue.id).status == "RESOLVED"
    sandbox.receiver.wait_for(account["id"], "Issue.resolved")

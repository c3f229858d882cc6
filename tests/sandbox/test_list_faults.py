"""Deletion detection off (Merge's add-on not bought) and lists that parse but mislead: records left out,
an early `next` of null, a page served twice, pages out of order."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sandbox


@pytest.fixture
def hris(faults_cleared: Sandbox) -> dict[str, Any]:
    tenant = faults_cleared.tenant("bamboohr", size=10, seed=5)
    return {"tenant": tenant, **faults_cleared.link(tenant)}


def _list(sandbox: Sandbox, account: dict[str, Any], **params: Any) -> tuple[list[str], list[str | None]]:
    """Every employee id in the order the list served them, following `next`; and each page's `next`."""
    ids: list[str] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = sandbox.get("/hris/v1/employees", account["token"], **query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [e["id"] for e in body["results"]]
        cursors.append(cursor := body["next"])
        if not cursor or len(cursors) > 20:
            return ids, cursors


def test_item_18_without_deletion_detection_a_deleted_record_leaves_the_lists_unflagged(
    faults_cleared: Sandbox, hris: dict[str, Any]
) -> None:
    """Issue item 18: with the add-on off for one account, a deletion at the provider drops the record out of
    Merge's lists (even with include_deleted_data) and `remote_was_deleted` is never true; another account
    still sees the deletion flagged."""
    sandbox = faults_cleared
    other_tenant = sandbox.tenant("bamboohr", size=4, seed=6)
    other = sandbox.link(other_tenant)
    switched = sandbox.control(
        "PUT", f"/_sandbox/linked-accounts/{hris['id']}/deletion-detection", {"enabled": False}
    )
    assert switched == {"linked_account_id": hris["id"], "deletion_detection": False}
    try:
        [victim, *_] = sandbox.get("/hris/v1/employees", hris["token"]).json()["results"]
        [other_victim, *_] = sandbox.get("/hris/v1/employees", other["token"]).json()["results"]
        for tenant, person in ((hris["tenant"], victim), (other_tenant, other_victim)):
            sandbox.control("DELETE", f"/_sandbox/tenants/{tenant['id']}/people/{person['remote_id']}")
        assert sandbox.sync(hris["id"])["removed"] == 0
        sandbox.sync(other["id"])
        everyone = sandbox.get("/hris/v1/employees", hris["token"], include_deleted_data="true").json()
        assert victim["id"] not in {e["id"] for e in everyone["results"]}
        assert not any(e["remote_was_deleted"] for e in everyone["results"])
        assert len(everyone["results"]) == 9
        assert sandbox.get(f"/hris/v1/employees/{victim['id']}", hris["token"]).status_code == 404
        flagged = sandbox.get(
            f"/hris/v1/employees/{other_victim['id']}", other["token"], include_deleted_data="true"
        ).json()
        assert flagged["remote_was_deleted"] is True
    finally:
        switch = f"/_sandbox/linked-accounts/{hris['id']}/deletion-detection"
        sandbox.control("PUT", switch, {"enabled": True})


def test_item_18_deletion_detection_can_be_off_for_the_whole_sandbox(
    faults_cleared: Sandbox, hris: dict[str, Any]
) -> None:
    """Issue item 18: the sandbox-wide switch, set through the config."""
    sandbox = faults_cleared
    sandbox.control("PUT", "/_sandbox/config", {"deletion_detection": False})
    try:
        [victim, *_] = sandbox.get("/hris/v1/employees", hris["token"]).json()["results"]
        sandbox.control("DELETE", f"/_sandbox/tenants/{hris['tenant']['id']}/people/{victim['remote_id']}")
        sandbox.sync(hris["id"])
        ids, _ = _list(sandbox, hris, include_deleted_data="true")
        assert victim["id"] not in ids and len(ids) == 9
    finally:
        sandbox.control("PUT", "/_sandbox/config", {"deletion_detection": True})
    assert sandbox.control("GET", "/_sandbox/config")["deletion_detection"] is True


def test_page_size_cap_splits_a_list_into_pages(faults_cleared: Sandbox, hris: dict[str, Any]) -> None:
    sandbox = faults_cleared
    whole, _ = _list(sandbox, hris)
    sandbox.control("PUT", "/_sandbox/faults", {"page_size_cap": 3})
    ids, cursors = _list(sandbox, hris, page_size=100)
    assert ids == whole and len(cursors) == 4 and cursors[-1] is None


@pytest.mark.parametrize(
    ("fault", "after", "expected"),
    [
        # positions in the list of ten, pages of three: [0 1 2] [3 4 5] [6 7 8] [9]
        ("omit", 1, [0, 1, 2, 4, 6, 7, 8, 9]),
        ("end_early", 1, [0, 1, 2, 3]),
        ("repeat", 1, [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 9]),
        ("reorder", 0, [3, 4, 5, 0, 1, 2, 6, 7, 8, 9]),
        ("reorder", 2, [0, 1, 2, 3, 4, 5, 9, 6, 7, 8]),
    ],
)
def test_list_faults_serve_pages_that_parse_but_mislead(
    faults_cleared: Sandbox, hris: dict[str, Any], fault: str, after: int, expected: list[int]
) -> None:
    """Faults for item 7's tests: one page of employees is served wrongly, after `after` good ones."""
    sandbox = faults_cleared
    sandbox.control("PUT", "/_sandbox/faults", {"page_size_cap": 3})
    whole, _ = _list(sandbox, hris)
    sandbox.control(
        "PUT", "/_sandbox/faults", {"list_fault": fault, "list_fault_remaining": 1, "list_fault_after": after}
    )
    ids, cursors = _list(sandbox, hris)
    assert ids == [whole[i] for i in expected] and cursors[-1] is None
    assert sandbox.control("GET", "/_sandbox/faults")["list_fault"] is None
    assert _list(sandbox, hris)[0] == whole


def test_list_faults_touch_only_the_model_named(faults_cleared: Sandbox, hris: dict[str, Any]) -> None:
    sandbox = faults_cleared
    sandbox.control("PUT", "/_sandbox/faults", {"list_fault": "end_early", "list_fault_remaining": 1})
    employments = sandbox.get("/hris/v1/employments", hris["token"]).json()["results"]
    assert len(employments) == 10
    assert len(_list(sandbox, hris)[0]) == 5
    with pytest.raises(AssertionError):
        sandbox.control("PUT", "/_sandbox/faults", {"list_fault": "shuffle"})

"""Common models: what changes when, filters, expand, cursors, and the change webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sandbox


@pytest.fixture
def hris(sandbox: Sandbox) -> dict[str, Any]:
    tenant = sandbox.tenant("bamboohr", size=40, seed=21)
    return {"tenant": tenant, **sandbox.link(tenant)}


def _people(sandbox: Sandbox, account: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = sandbox.get("/hris/v1/employees", account["token"], **params)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _person_path(account: dict[str, Any], remote_id: str) -> str:
    return f"/_sandbox/tenants/{account['tenant']['id']}/people/{remote_id}"


def test_modified_at_moves_only_when_merge_syncs_a_change(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    before = {e["id"]: e for e in _people(sandbox, hris)}
    hired = sandbox.control(
        "POST",
        f"/_sandbox/tenants/{hris['tenant']['id']}/people",
        {"first_name": "Ada", "last_name": "Lovelace", "title": "Engineer"},
        201,
    )
    assert not _people(sandbox, hris, remote_id=hired["remote_id"])
    assert sandbox.sync(hris["id"])["added"] == 2
    [ada] = _people(sandbox, hris, remote_id=hired["remote_id"])
    assert ada["display_full_name"] == "Ada Lovelace" and ada["employment_status"] == "ACTIVE"
    after = {e["id"]: e for e in _people(sandbox, hris)}
    assert all(after[i]["modified_at"] == e["modified_at"] for i, e in before.items())
    changed = _people(sandbox, hris, modified_after=max(e["modified_at"] for e in before.values()))
    assert [e["id"] for e in changed] == [ada["id"]]
    assert sandbox.receiver.wait_for(hris["id"], "Employee.added")[0]["data"]["id"] == ada["id"]

    sandbox.control("POST", _person_path(hris, hired["remote_id"]) + "/terminate", {})
    assert sandbox.sync(hris["id"])["changed"] == 1
    [gone] = _people(sandbox, hris, remote_id=hired["remote_id"])
    assert gone["employment_status"] == "INACTIVE" and gone["termination_date"]
    assert gone["modified_at"] > ada["modified_at"]
    assert sandbox.sync(hris["id"])["changed"] == 0
    sandbox.receiver.wait_for(hris["id"], "Employee.changed")

    sandbox.control("POST", _person_path(hris, hired["remote_id"]) + "/rehire", {})
    sandbox.sync(hris["id"])
    assert _people(sandbox, hris, remote_id=hired["remote_id"])[0]["employment_status"] == "ACTIVE"


def test_deleted_people_are_hidden_unless_asked_for(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    victim = _people(sandbox, hris)[-1]
    sandbox.control("DELETE", _person_path(hris, victim["remote_id"]))
    assert sandbox.sync(hris["id"])["removed"] == 2
    assert victim["id"] not in {e["id"] for e in _people(sandbox, hris)}
    [shown] = _people(sandbox, hris, include_deleted_data="true", remote_id=victim["remote_id"])
    assert shown["remote_was_deleted"] is True
    assert sandbox.receiver.wait_for(hris["id"], "Employee.removed")[0]["data"]["id"] == victim["id"]


def test_a_deleted_record_is_restored_not_edited(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    victim = _people(sandbox, hris)[-1]
    path = _person_path(hris, victim["remote_id"])
    title = sandbox.control("GET", path)["title"]
    sandbox.control("DELETE", path)
    refused = sandbox.control("PATCH", path, {"title": "Engineer"}, 409)
    assert "rehire" in refused["detail"]
    sandbox.control("POST", path + "/terminate", {}, 409)
    sandbox.control("DELETE", path, None, 409)
    assert sandbox.control("GET", path)["title"] == title != "Engineer"
    restored = sandbox.control("POST", path + "/rehire", {})
    assert restored["deleted"] is False
    sandbox.control("PATCH", path, {"title": "Engineer"})
    sandbox.sync(hris["id"])
    [back] = _people(sandbox, hris, remote_id=victim["remote_id"])
    assert back["remote_was_deleted"] is False
    assert sandbox.control("GET", path)["title"] == "Engineer"


def test_change_of_title_team_and_manager_shows_after_sync(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    people = _people(sandbox, hris, expand="employments")
    person, boss = people[-1], people[0]
    sandbox.control(
        "PATCH",
        _person_path(hris, person["remote_id"]),
        {"title": "Chief of Staff", "manager": boss["remote_id"], "team": "T-EXEC"},
    )
    sandbox.sync(hris["id"])
    [moved] = _people(sandbox, hris, remote_id=person["remote_id"], expand="employments,manager,team")
    assert moved["manager"]["id"] == boss["id"] and moved["team"]["name"] == "Executive"
    assert moved["employments"][0]["job_title"] == "Chief of Staff"
    assert [e["id"] for e in _people(sandbox, hris, manager_id=boss["id"])].count(person["id"]) == 1


def test_filters_and_expand(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    people = _people(sandbox, hris)
    someone = people[5]
    assert [e["id"] for e in _people(sandbox, hris, work_email=someone["work_email"])] == [someone["id"]]
    assert {e["team"] for e in _people(sandbox, hris, team_id=someone["team"])} == {someone["team"]}
    assert all(e["employment_status"] == "ACTIVE" for e in _people(sandbox, hris, employment_status="ACTIVE"))
    expanded = _people(sandbox, hris, expand="manager,team,groups,work_location,company,employments")[5]
    assert expanded["manager"]["id"] == someone["manager"]
    assert expanded["company"]["display_name"] == hris["tenant"]["name"]
    assert {g["type"] for g in expanded["groups"]} <= {"DEPARTMENT", "TEAM"}
    assert expanded["work_location"]["location_type"] == "WORK"
    employments = sandbox.get("/hris/v1/employments", hris["token"], employee_id=someone["id"]).json()[
        "results"
    ]
    assert [e["employee"] for e in employments] == [someone["id"]]
    teams = sandbox.get("/hris/v1/groups", hris["token"], types="TEAM").json()["results"]
    assert teams and all(g["is_commonly_used_as_team"] for g in teams)


def test_cursors_are_stable_while_people_are_added(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    first = sandbox.get("/hris/v1/employees", hris["token"], page_size=15).json()
    for _ in range(5):
        sandbox.control("POST", f"/_sandbox/tenants/{hris['tenant']['id']}/people", {}, 201)
    sandbox.sync(hris["id"])
    seen, page = list(first["results"]), first
    while page["next"]:
        page = sandbox.get("/hris/v1/employees", hris["token"], page_size=15, cursor=page["next"]).json()
        seen.extend(page["results"])
    assert len(seen) == len({e["id"] for e in seen}) == 45
    back = sandbox.get("/hris/v1/employees", hris["token"], page_size=15, cursor=page["previous"]).json()
    assert [e["id"] for e in back["results"]] == [e["id"] for e in seen[15:30]]


def test_bad_requests_answer_like_merge(sandbox: Sandbox, hris: dict[str, Any]) -> None:
    assert sandbox.get("/hris/v1/employees", hris["token"], cursor="bm90LWEtY3Vyc29y").status_code == 404
    bad_date = sandbox.get("/hris/v1/employees", hris["token"], modified_after="yesterday")
    assert bad_date.status_code == 400 and "modified_after" in bad_date.json()
    missing = sandbox.get("/hris/v1/employees/00000000-0000-0000-0000-000000000000", hris["token"])
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})
    assert sandbox.get("/hris/v1/employees", hris["token"], page_size=500).json()["results"].__len__() == 40


def test_crm_users_page_and_change_through_the_sdk(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant("salesforce", size=130, seed=4)
    account = sandbox.link(tenant)
    client = sandbox.merge(account["token"])
    users, cursor = [], None
    while True:
        page = client.crm.users.list(cursor=cursor, page_size=100)
        users.extend(page.results)
        if not (cursor := page.next):
            break
    assert len(users) == 130 and all(u.email.endswith(tenant["domain"]) for u in users)
    contacts = client.crm.contacts.list(expand="account,owner", page_size=5).results
    assert contacts[0].account.name and contacts[0].owner.email
    target = users[-1]
    sandbox.control("POST", f"/_sandbox/tenants/{tenant['id']}/people/{target.remote_id}/terminate", {})
    sandbox.sync(account["id"])
    assert client.crm.users.retrieve(target.id).is_active is False
    assert sandbox.receiver.wait_for(account["id"], "CRMUser.changed")[0]["data"]["id"] == target.id

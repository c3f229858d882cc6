"""A CRM tenant whose users are drawn from an HRIS tenant's employees: the same humans, with the same names
and work emails."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sandbox
from .test_cli import cli


def _people(sandbox: Sandbox, tenant: dict[str, Any]) -> list[dict[str, Any]]:
    page = sandbox.control("GET", f"/_sandbox/tenants/{tenant['id']}/people?limit=1000")
    assert page["next_after"] is None
    return list(page["results"])


def _employees_by_email(sandbox: Sandbox, hris: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["work_email"]: e for e in _people(sandbox, hris)}


def test_the_users_are_some_of_the_hris_people_with_their_names_and_work_emails(sandbox: Sandbox) -> None:
    hris = sandbox.tenant("workday", size=40, seed=11)
    sandbox.control("DELETE", f"/_sandbox/tenants/{hris['id']}/people/W0000040")

    crm = sandbox.tenant("salesforce", size=12, seed=5, people_from=hris["subdomain"])

    assert (crm["people_from"], crm["people"], crm["domain"]) == (hris["subdomain"], 12, hris["domain"])
    employees = _employees_by_email(sandbox, hris)
    users = _people(sandbox, crm)
    assert len({u["email"] for u in users}) == 12
    for user in users:
        employee = employees[user["email"]]
        assert not employee["deleted"]
        first = employee["preferred_name"] or employee["first_name"]
        assert (user["first_name"], user["last_name"]) == (first, employee["last_name"])
    # Merge's CRM users are those people, as Merge's HRIS employees are.
    account = sandbox.link(crm)
    merged = sandbox.merge(account["token"]).crm.users.list(page_size=100).results
    assert sorted(u.email for u in merged) == sorted(u["email"] for u in users)
    assert {u.name for u in merged} == {f"{u['first_name']} {u['last_name']}" for u in users}


def test_the_same_seed_draws_the_same_people_and_another_seed_others(sandbox: Sandbox) -> None:
    hris = sandbox.tenant("bamboohr", size=30, seed=12)

    drawn = [sandbox.tenant("hubspot", size=6, seed=seed, people_from=hris["id"]) for seed in (3, 3, 4)]

    emails = [sorted(u["email"] for u in _people(sandbox, crm)) for crm in drawn]
    assert emails[0] == emails[1] != emails[2]
    # Still a CRM of its own: customer accounts and contacts owned by its users, and hires after them.
    hired = sandbox.control("POST", f"/_sandbox/tenants/{drawn[0]['id']}/people", {}, 201)
    assert hired["email"].endswith("@" + hris["domain"]) and hired["email"] not in emails[0]


def test_people_hired_into_it_are_new_at_the_company_though_both_share_a_seed(sandbox: Sandbox) -> None:
    """Both tenants name people from the same seeded sequence: a hire into the CRM is given a name and email
    that neither the HRIS's employees nor the CRM's users have, unless the email is asked for."""
    hris = sandbox.tenant("workday", size=20, seed=9)
    crm = sandbox.tenant("salesforce", size=15, seed=9, people_from=hris["id"])
    known = set(_employees_by_email(sandbox, hris)) | {u["email"] for u in _people(sandbox, crm)}
    people = f"/_sandbox/tenants/{crm['id']}/people"

    hired = [sandbox.control("POST", people, {}, 201)["email"] for _ in range(8)]
    seated = sandbox.control("POST", people, {"email": next(iter(_employees_by_email(sandbox, hris)))}, 201)

    assert len(set(hired)) == 8 and not set(hired) & known
    assert all(email.endswith("@" + hris["domain"]) for email in hired)
    assert seated["email"] in known


def test_every_person_of_the_hris_can_be_drawn(sandbox: Sandbox) -> None:
    hris = sandbox.tenant("hibob", size=8, seed=13)

    crm = sandbox.tenant("hubspot", size=8, seed=1, people_from=hris["id"])

    assert {u["email"] for u in _people(sandbox, crm)} == set(_employees_by_email(sandbox, hris))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"provider": "salesforce", "people_from": "no-such"}, "people_from: no tenant 'no-such'"),
        (
            {"provider": "workday", "people_from": "{hris}"},
            "people_from is for CRM tenants; Workday is an HRIS",
        ),
        (
            {"provider": "hubspot", "people_from": "{crm}"},
            "people_from must name an HRIS tenant; {crm} is a CRM",
        ),
        (
            {"provider": "salesforce", "people_from": "{hris}", "size": 6},
            "size 6 is more than the 5 employees with a work email of {hris}",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason(sandbox: Sandbox, body: dict[str, Any], detail: str) -> None:
    hris = sandbox.tenant("workday", size=5, seed=14)
    other = sandbox.tenant("salesforce", size=3, seed=14)
    names = {"hris": hris["subdomain"], "crm": other["subdomain"]}
    body = {k: v.format(**names) if isinstance(v, str) else v for k, v in body.items()}
    before = len(sandbox.control("GET", "/_sandbox/tenants")["results"])

    answer = sandbox.control("POST", "/_sandbox/tenants", {"name": "Refused", **body}, 400)

    assert answer["detail"].startswith(detail.format(**names)), answer
    assert len(sandbox.control("GET", "/_sandbox/tenants")["results"]) == before


def test_an_employee_without_a_work_email_is_not_drawn(sandbox: Sandbox) -> None:
    hris = sandbox.tenant("workday", size=4, seed=15)
    sandbox.control("PATCH", f"/_sandbox/tenants/{hris['id']}/people/W0000002", {"work_email": ""})

    crm = cli(
        sandbox, "tenant", "create", "--provider", "salesforce", "--name", "Drawn", "--size", "3",
        "--people-from", hris["id"],
    )  # fmt: skip

    employees = _employees_by_email(sandbox, hris)
    assert {u["email"] for u in _people(sandbox, crm)} == set(employees) - {""}

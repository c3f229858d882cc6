"""Deterministic, streaming generation of a provider tenant's records.

Records are yielded one at a time so a tenant of a million people is written in batches without
ever being held in memory. The same seed and size always give the same people.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from merge_sandbox.provider import names

Record = tuple[str, str, dict[str, Any]]

EMPLOYMENT_TYPES = [("FULL_TIME", 86), ("PART_TIME", 6), ("CONTRACTOR", 5), ("INTERN", 3)]
GENDERS = ["MALE", "FEMALE", "NON-BINARY", "PREFER_NOT_TO_DISCLOSE"]
ETHNICITIES = [
    "AMERICAN_INDIAN_OR_ALASKA_NATIVE",
    "ASIAN_OR_INDIAN_SUBCONTINENT",
    "BLACK_OR_AFRICAN_AMERICAN",
    "HISPANIC_OR_LATINO",
    "NATIVE_HAWAIIAN_OR_OTHER_PACIFIC_ISLANDER",
    "TWO_OR_MORE_RACES",
    "WHITE",
    "PREFER_NOT_TO_DISCLOSE",
]
MARITAL = ["SINGLE", "MARRIED_FILING_JOINTLY", "MARRIED_FILING_SEPARATELY", "HEAD_OF_HOUSEHOLD"]
CURRENCY_BY_COUNTRY = {"US": "USD", "GB": "GBP", "DE": "EUR", "CA": "CAD", "AU": "AUD"}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "tenant"


def email_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def employee_remote_id(provider: str, number: int) -> str:
    if provider == "workday":
        return f"W{number:07d}"
    if provider == "bamboohr":
        return str(1_000_000 + number)
    return str(3_000_000_000 + number)


@dataclass(frozen=True)
class OrgShape:
    """The manager tree is implicit: person i reports to (i - 1) // fanout, so nothing is stored."""

    fanout: int
    departments: tuple[str, ...]

    def manager_of(self, index: int) -> int | None:
        return None if index == 0 else (index - 1) // self.fanout

    def depth(self, index: int) -> int:
        level = 0
        while index > 0:
            index = (index - 1) // self.fanout
            level += 1
        return level

    def ancestor_at(self, index: int, level: int) -> int:
        current, depth = index, self.depth(index)
        while depth > level:
            current = (current - 1) // self.fanout
            depth -= 1
        return current

    def has_reports(self, index: int, size: int) -> bool:
        return index * self.fanout + 1 < size


class NameSequence:
    """A seeded bijection over first x last names, so names stay unique until the pairs run out."""

    def __init__(self, rng: random.Random) -> None:
        self.first = list(names.FIRST_NAMES)
        self.last = list(names.LAST_NAMES)
        rng.shuffle(self.first)
        rng.shuffle(self.last)
        self.total = len(self.first) * len(self.last)
        self.step = rng.randrange(1, self.total)
        while math.gcd(self.step, self.total) != 1:
            self.step += 1
        self.start = rng.randrange(self.total)

    def pick(self, index: int) -> tuple[str, str, int]:
        position = (self.start + index * self.step) % self.total
        first = self.first[position % len(self.first)]
        last = self.last[position // len(self.first)]
        return first, last, index // self.total


def org_shape(seed: int) -> OrgShape:
    rng = random.Random(seed * 7919)  # noqa: S311 - seeded on purpose: same seed, same people
    departments = list(names.DEPARTMENTS)
    rng.shuffle(departments)
    fanout = rng.randint(5, 8)
    return OrgShape(fanout=fanout, departments=tuple(departments[:fanout]))


def team_key(shape: OrgShape, index: int) -> tuple[int, int | None]:
    """(department index, team slot or None for the department's own leadership)."""
    depth = shape.depth(index)
    if depth == 0:
        return -1, None
    head = shape.ancestor_at(index, 1)
    if depth == 1:
        return head - 1, None
    return head - 1, (shape.ancestor_at(index, 2) - 1) % shape.fanout


def team_remote_id(dept: int, slot: int | None) -> str:
    if dept < 0:
        return "T-EXEC"
    return f"T-{dept:02d}" if slot is None else f"T-{dept:02d}-{slot:02d}"


def hris_structure(tenant_name: str, shape: OrgShape, created: str) -> Iterator[Record]:
    """The company, its offices, and its departments with their teams."""
    company = {"legal_name": f"{tenant_name} Inc.", "display_name": tenant_name, "eins": ["12-3456789"]}
    yield "company", "C-1", {**company, "created": created}
    for i, (name, street, city, state, zip_code, country, phone) in enumerate(names.LOCATIONS):
        yield "location", f"L-{i:02d}", {
            "name": name, "street_1": street or None, "city": city or None, "state": state or None,
            "zip_code": zip_code or None, "country": country, "phone_number": phone or None,
            "created": created,
        }  # fmt: skip
    yield "team", "T-EXEC", {"name": "Executive", "parent": None, "department": True, "created": created}
    for d, dept in enumerate(shape.departments):
        head = team_remote_id(d, None)
        yield "team", head, {"name": dept, "parent": None, "department": True, "created": created}
        for slot, team in enumerate(names.DEPARTMENTS[dept][0][: shape.fanout]):
            yield "team", team_remote_id(d, slot), {
                "name": team, "parent": head, "department": False, "created": created,
            }  # fmt: skip


def _title(shape: OrgShape, index: int, rng: random.Random) -> str:
    dept, slot = team_key(shape, index)
    if dept < 0:
        return "Chief Executive Officer"
    dept_name = shape.departments[dept]
    teams, titles = names.DEPARTMENTS[dept_name]
    if slot is None:
        return f"VP of {dept_name}"
    if shape.depth(index) == 2:
        return f"Head of {teams[slot]}"
    return rng.choice(titles)


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _employment_dates(ctx: PeopleContext, index: int) -> dict[str, Any]:
    """Mostly ACTIVE; a few leavers and joiners, never among managers so the tree stays whole."""
    rng = ctx.rng
    hire = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(4700))
    status, start, termination = "ACTIVE", hire, None
    if not ctx.shape.has_reports(index, ctx.size) and index > 0:
        roll = rng.random()
        if roll < 0.03:
            status, termination = "INACTIVE", hire + dt.timedelta(days=rng.randrange(30, 900))
        elif roll < 0.04:
            status = "PENDING"
            hire = ctx.today - dt.timedelta(days=rng.randrange(1, 20))
            start = ctx.today + dt.timedelta(days=rng.randrange(7, 45))
    return {
        "status": status,
        "hire_date": hire.isoformat(),
        "start_date": start.isoformat(),
        "termination_date": termination.isoformat() if termination else None,
    }


def _pay(rng: random.Random, employment_type: str, location: int) -> dict[str, Any]:
    hourly = employment_type in {"PART_TIME", "INTERN", "CONTRACTOR"}
    return {
        "pay_rate": float(rng.randrange(18, 90)) if hourly else float(rng.randrange(55, 260) * 1000),
        "pay_period": "HOUR" if hourly else "YEAR",
        "pay_frequency": "BIWEEKLY",
        "pay_currency": CURRENCY_BY_COUNTRY.get(names.LOCATIONS[location][5], "USD"),
        "flsa_status": "NONEXEMPT" if hourly else "EXEMPT",
    }


def employee_record(ctx: PeopleContext, index: int) -> dict[str, Any]:
    rng, shape = ctx.rng, ctx.shape
    first, last, repeat = ctx.names.pick(index)
    handle = f"{email_part(first)}.{email_part(last)}" + (str(repeat + 1) if repeat else "")
    dept, slot = team_key(shape, index)
    manager = shape.manager_of(index)
    location = rng.randrange(len(names.LOCATIONS))
    employment_type = "FULL_TIME" if index == 0 else _weighted(rng, EMPLOYMENT_TYPES)
    birth = dt.date(1960 + rng.randrange(42), 1 + rng.randrange(12), 1 + rng.randrange(28))
    return {
        "number": ctx.first_number + index,
        "first_name": first,
        "last_name": last,
        "preferred_name": first[:3] if rng.random() < 0.05 and len(first) > 5 else None,
        "username": handle,
        "work_email": f"{handle}@{ctx.domain}",
        "personal_email": f"{handle}{rng.randrange(10, 99)}@example.net",
        "mobile_phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
        "title": _title(shape, index, rng),
        "team": team_remote_id(dept, slot),
        "department": team_remote_id(dept, None),
        "manager": None if manager is None else employee_remote_id(ctx.provider, ctx.first_number + manager),
        "location": f"L-{location:02d}",
        "employment_type": employment_type,
        **_employment_dates(ctx, index),
        "date_of_birth": birth.isoformat(),
        "gender": rng.choice(GENDERS),
        "ethnicity": rng.choice(ETHNICITIES),
        "marital_status": rng.choice(MARITAL),
        **_pay(rng, employment_type, location),
        "created": ctx.created,
    }


@dataclass
class PeopleContext:
    provider: str
    domain: str
    size: int
    rng: random.Random
    shape: OrgShape
    names: NameSequence
    today: dt.date
    created: str
    first_number: int = 1


def people_context(
    provider: str, domain: str, size: int, seed: int, now: dt.datetime, created: str
) -> PeopleContext:
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: same seed, same people
    return PeopleContext(provider, domain, size, rng, org_shape(seed), NameSequence(rng), now.date(), created)


def hris_people(ctx: PeopleContext) -> Iterator[Record]:
    for index in range(ctx.size):
        yield (
            "employee",
            employee_remote_id(ctx.provider, ctx.first_number + index),
            employee_record(ctx, index),
        )


def crm_user_remote_id(provider: str, number: int) -> str:
    return f"005{number:012d}" if provider == "salesforce" else str(90_000_000 + number)


def generated_name(ctx: PeopleContext, index: int) -> tuple[str, str, str]:
    """The index-th person's first name, last name and email at the tenant's domain."""
    first, last, repeat = ctx.names.pick(index)
    handle = f"{email_part(first)}.{email_part(last)}" + (str(repeat + 1) if repeat else "")
    return first, last, f"{handle}@{ctx.domain}"


def crm_user_record(
    ctx: PeopleContext, index: int, employee: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`employee`: the HRIS record of the same human, whose name and work email the user has; the title and
    the active flag stay the CRM's own, as they are in a real company's CRM."""
    if employee is None:
        first, last, email = generated_name(ctx, index)
    else:
        first, last, email = employee["first_name"], employee["last_name"], employee["work_email"]
    return {
        "number": ctx.first_number + index,
        "first_name": first,
        "last_name": last,
        "email": email,
        "title": ctx.rng.choice(names.CRM_TITLES),
        "active": ctx.rng.random() > 0.04 or index == 0,
        "created": ctx.created,
    }


def crm_people(ctx: PeopleContext, employees: Iterable[Mapping[str, Any]] | None = None) -> Iterator[Record]:
    """`employees`: the HRIS records (`ctx.size` of them) the users are drawn from, one user each."""
    drawn = iter(employees) if employees is not None else None
    for index in range(ctx.size):
        employee = next(drawn) if drawn is not None else None
        record = crm_user_record(ctx, index, employee)
        yield "user", crm_user_remote_id(ctx.provider, ctx.first_number + index), record
    for a in range(max(1, ctx.size // 2)):
        yield from _customer(ctx, a)


def _customer(ctx: PeopleContext, a: int) -> Iterator[Record]:
    """One customer account with two contacts, owned by one of the tenant's users."""
    rng, salesforce = ctx.rng, ctx.provider == "salesforce"
    company = f"{rng.choice(names.COMPANY_WORDS)} {rng.choice(names.COMPANY_SUFFIXES)}"
    account_id = f"001{a + 1:012d}" if salesforce else str(50_000_000 + a)
    _, street, city, state, postal_code, country, phone = rng.choice(names.LOCATIONS[:7])
    owner = crm_user_remote_id(ctx.provider, ctx.first_number + rng.randrange(ctx.size))
    yield "account", account_id, {
        "name": company, "industry": rng.choice(names.INDUSTRIES),
        "website": f"https://www.{slugify(company)}.example", "employees": rng.randrange(5, 20000),
        "owner": owner, "description": f"{company} is a customer account.", "phone": phone or None,
        "street": street or None, "city": city or None, "state": state or None,
        "postal_code": postal_code or None, "country": country, "created": ctx.created,
        "last_activity": ctx.created,
    }  # fmt: skip
    for c in range(2):
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        contact_id = f"003{a * 2 + c + 1:012d}" if salesforce else str(70_000_000 + a * 2 + c)
        yield "contact", contact_id, {
            "first_name": first, "last_name": last, "account": account_id, "owner": owner,
            "email": f"{email_part(first)}.{email_part(last)}@{slugify(company)}.example",
            "phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
            "created": ctx.created, "last_activity": ctx.created,
        }  # fmt: skip

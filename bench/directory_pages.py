"""The admin pages that read a whole organization: Company Settings > People, the first sync's review summary
and the vendor switch's preview, over one organization of 100,000 people (and a few small ones beside it).

Run by `python -m bench.worker people` in a freshly migrated database of its own, with DEBUG off. The
organization is written by COPY (core/bulk.py), as a sync writes it, then analysed as autovacuum would.
Requests go through Django's test client (every middleware, the session, the template); times are the
server's, without a network.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skillibrium.accounts.models import Organization, User
    from skillibrium.integrations.models import Integration

FIRST = (
    "James", "Olivia", "Noah", "Emma", "Liam", "Ava", "Lucas", "Mia", "Ethan", "Sofia",
    "Mateo", "Amara", "Kenji", "Priya", "Tomasz", "Ingrid", "Kwame", "Leila", "Diego", "Hana",
)  # fmt: skip
# 1,000 last names, about 100 people each at 100,000.
LAST = [
    a + b + c
    for a in ("Ab", "Bel", "Cor", "Dun", "Esh", "Fal", "Gor", "Hal", "Ist", "Jor")
    for b in ("an", "er", "in", "on", "ul", "ar", "et", "ov", "is", "ad")
    for c in ("son", "ley", "berg", "ford", "wick", "ton", "man", "well", "ski", "dale")
]
COMMON_FIRST = "Maria"  # one person in 25
DOMAIN = "bigco.example"
PERSON_COLUMNS = (
    "organization", "source_category", "first_name", "last_name", "work_email", "employee_number",
    "employment_status", "user",
)  # fmt: skip
REPETITIONS = 100  # requests per People page case
SLOW_REPETITIONS = 5  # whole-organization computations


@dataclass(frozen=True)
class Big:
    organization: Organization
    integration: Integration
    admin: User
    people: int


def name_of(n: int) -> tuple[str, str, str]:
    first = COMMON_FIRST if n % 25 == 0 else FIRST[n % len(FIRST)]
    last = LAST[(n * 7919) % len(LAST)]  # neighbours in the sequence do not share a last name
    return first, last, f"{first}.{last}.{n}@{DOMAIN}".lower()


def build(people: int, others: int = 3, other_size: int = 500) -> Big:
    """One organization of `people` people and as many users: 99% of the people are users, the other 1% have
    the email of a user invited by hand (found by work email on confirming); with its HRIS's records, and
    `others` small organizations beside it."""
    from django.db import connection, transaction

    from skillibrium.accounts.models import Organization, Role

    with transaction.atomic():
        for n in range(others):
            small = Organization.objects.create(name=f"Bench Small {n}")
            _people(small, _integration(small, f"small-{n}"), other_size, f"small{n}-")
        organization = Organization.objects.create(name="Bench People")
        integration = _integration(organization, "big")
        admin = _people(organization, integration, people, "")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert admin.membership.role == Role.ADMIN
    return Big(organization, integration, admin, people)


def _integration(organization: Organization, key: str) -> Integration:
    from skillibrium.integrations.models import Integration
    from skillibrium.provisioning.models import ProvisioningPolicy

    ProvisioningPolicy.objects.create(organization=organization, send_invitations=False)
    return Integration.objects.create(
        organization=organization,
        category="hris",
        provider_slug="workday",
        provider_name="Workday",
        merge_account_id=f"account-{key}",
        account_token=f"token-{key}",
    )


def _people(organization: Organization, integration: Integration, size: int, prefix: str) -> User:
    """Returns the organization's first user, made its admin."""
    from django.contrib.auth.hashers import make_password

    from skillibrium.accounts.models import Membership, Role, User
    from skillibrium.core.bulk import insert_rows
    from skillibrium.directory.models import Person, SourceIdentity

    names = [name_of(n) for n in range(size)]
    emails = [f"{prefix}{email}" for _, _, email in names]
    unusable = make_password(None)
    signed_in = make_password("bench-password")  # accepted an invitation (hashed once for all)
    with_person = size - size // 100  # the rest are users the HRIS does not list (invited by hand)
    users = insert_rows(
        User,
        ["email", "first_name", "last_name", "password", "is_active", "last_login"],
        (
            (email, first, last, signed_in if n % 3 else unusable, _status(n) == "ACTIVE", None)
            for n, ((first, last, _), email) in enumerate(zip(names, emails, strict=True))
        ),
    )
    insert_rows(
        Membership,
        ["user", "organization", "role", "access_override"],
        (
            (pk, organization.pk, Role.ADMIN if n == 0 else Role.MEMBER, "active" if n % 997 == 5 else "")
            for n, pk in enumerate(users)
        ),
    )
    users_of_people = [pk if n < with_person else None for n, pk in enumerate(users)]
    rows = zip(names, emails, users_of_people, strict=True)
    person_ids = insert_rows(
        Person,
        PERSON_COLUMNS,
        (
            (organization.pk, "hris", first, last, email, f"E{n:07}", _status(n), user)
            for n, ((first, last, _), email, user) in enumerate(rows)
        ),
    )
    insert_rows(
        SourceIdentity,
        ["integration", "person", "merge_id", "remote_id", "digest"],
        ((integration.pk, pk, f"m-{n}", f"r-{n}", "d") for n, pk in enumerate(person_ids)),
    )
    return User.objects.select_related("membership").get(pk=users[0])


def _status(n: int) -> str:
    return "ACTIVE" if n % 50 != 1 else "INACTIVE"  # one in fifty has left, their user deactivated


@dataclass
class Timed:
    samples: list[float]

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        return {
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "n": len(ordered),
        }


def timed(call: Callable[[], object], repetitions: int, warm: int = 3) -> Timed:
    for _ in range(warm):
        call()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timed(samples)


def people_page_cases(big: Big) -> Iterator[tuple[str, dict[str, str]]]:
    """The People page's requests: pages by the `after` its Next link carries, and three searches."""
    from skillibrium.accounts.models import Membership

    emails = Membership.objects.filter(organization=big.organization).order_by("user__email")
    total = emails.count()
    middle = (total // 50 // 2) * 50
    last = ((total - 1) // 50) * 50
    after = {  # the email of the last row of the page before: what that page's Next link carries
        n: emails.values_list("user__email", flat=True)[n - 1] for n in (middle, last)
    }
    yield "first page", {}
    yield "middle page", {"after": after[middle]}
    yield "last page", {"after": after[last]}
    _, last_name, email = name_of(big.people // 3 + 17)  # someone in the middle
    yield "search by last name", {"q": last_name}
    yield "search by email fragment", {"q": email.split("@")[0][-12:]}
    yield "search by a common first name", {"q": COMMON_FIRST}
    yield "search, common first name, next page", {"q": COMMON_FIRST, "after": _second_page(big)}


def _second_page(big: Big) -> str:
    from skillibrium.accounts.models import Membership

    found = Membership.objects.filter(organization=big.organization, user__first_name=COMMON_FIRST)
    return str(found.order_by("user__email").values_list("user__email", flat=True)[49])


def people_page(big: Big) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client(HTTP_HOST="localhost")
    client.force_login(big.admin)
    url = reverse("accounts:people")
    out: dict[str, Any] = {}
    for name, params in people_page_cases(big):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        count = len(queries)  # read now: the log it slices is cleared by the next request
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        row = 'id="people"'
        shown = html.split(row, 1)[1].split("</tbody>", 1)[0].count("<tr><td>")
        case = timed(lambda params=params: client.get(url, params), REPETITIONS).summary()  # type: ignore[misc]
        out[name] = case | {"rows": shown, "queries": count, "next_link": "&after=" in html}
    return out


def first_sync_summary(big: Big) -> dict[str, Any]:
    from skillibrium.provisioning import first_sync

    result: dict[str, Any] = {}

    def compute() -> None:
        result.update(first_sync.compute(big.integration))

    timing = timed(compute, SLOW_REPETITIONS, warm=1).summary()
    counts = {
        k: result[k]
        for k in ("people", "already_linked", "linked_by_email", "create", "update", "deactivate")
    }
    return timing | {"counts": counts} | _queries(compute)


def replacement_records(big: Big) -> list[Any]:
    """100,000 records of a replacement: half match people by work email, a fifth only by employee number
    (their email changed with the vendor), the rest are new; one in fifty has left."""
    from skillibrium.sync.preview import _Record

    def record(n: int, email: str, number: str) -> _Record:
        first, last, _ = name_of(n)
        return _Record(f"new-{n}", f"nr-{n}", email, number, f"{first} {last}", n % 50 != 7)

    size = big.people
    by_email, by_number = size // 2, size // 5
    records = [record(n, name_of(n)[2], f"E{n:07}") for n in range(by_email)]
    records += [
        record(n, f"{name_of(n)[2].split('@')[0]}@newco.example", f"E{n:07}")
        for n in range(by_email, by_email + by_number)
    ]
    records += [record(n, f"hire.{n}@newco.example", f"N{n:07}") for n in range(by_email + by_number, size)]
    return records


def vendor_switch_preview(big: Big) -> dict[str, Any]:
    from skillibrium.integrations.models import Replacement
    from skillibrium.sync import preview

    replacement = Replacement.objects.create(integration=big.integration, origin_id="bench-replacement")
    records = replacement_records(big)
    result: dict[str, Any] = {}

    def compare() -> None:
        result["summary"], result["matches"] = preview.compare(replacement, records)

    timing = timed(compare, SLOW_REPETITIONS, warm=1).summary()
    summary = result["summary"]
    counts = {k: summary[k] for k in ("records", "matched", "new", "only_in_old", "leaving")}
    counts["matched_by"] = summary["matched_by"]
    return timing | {"counts": counts} | _queries(compare)


def _queries(call: Callable[[], None]) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return {"queries": len(queries)}


def run(people: int) -> dict[str, Any]:
    started = time.perf_counter()
    big = build(people)
    built = round(time.perf_counter() - started, 1)
    return {
        "people": people,
        "built_s": built,
        "people_page": people_page(big),
        "first_sync_compute": first_sync_summary(big),
        "vendor_switch_compare": vendor_switch_preview(big),
    }

"""Pages that stay fast at 100,000 people and a million audit entries (`make bench` times them): none issues a
query per row, the audit log and the review queue page by keyset, counts stop at a cap, and the CSV export
streams under ASGI instead of being collected first."""

import csv
import datetime as dt
import io
import re
import warnings

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts import audit_pages
from skillibrium.accounts.models import Organization, Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldReason, HoldStatus

from .factories import make_org, make_user, signed_in

pytestmark = pytest.mark.django_db

START = timezone.now() - dt.timedelta(days=30)


def add_people(org: Organization, count: int, start: int = 0) -> list[Person]:
    managers = list(Person.objects.for_org(org)[:1])
    return [
        Person.objects.create(
            organization=org,
            first_name=f"First{n}",
            last_name=f"Last{n:03}",
            work_email=f"person{n}@example.com",
            title="Engineer" if n % 2 else "Designer",
            manager=managers[0] if managers else None,
            user=make_user(org),
        )
        for n in range(start, start + count)
    ]


def add_entries(org: Organization, count: int, action: str = "user.created", start: int = 0) -> None:
    """Entries a second apart: entry n of the organization is the n-th oldest."""
    actor = make_user(org)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            organization=org,
            at=START + dt.timedelta(seconds=n),
            actor=actor,
            action=action,
            target=f"person{n}@example.com",
            detail={"n": n},
        )
        for n in range(start, start + count)
    )


def hold(people: list[Person]) -> None:
    HeldChange.objects.bulk_create(
        HeldChange(
            organization=person.organization,
            person=person,
            kind=ChangeKind.DEACTIVATE,
            reason=HoldReason.MASS_DEACTIVATION,
            created_at=START + dt.timedelta(seconds=n),
        )
        for n, person in enumerate(people)
    )
    decided = HeldChange.objects.filter(person=people[0]).get()
    HeldChange.objects.create(
        organization=decided.organization,
        person=decided.person,
        kind=ChangeKind.REACTIVATE,
        reason=HoldReason.RECONNECTION_REVIEW,
        status=HoldStatus.REJECTED,
        decided_by=make_user(decided.organization),
        decided_at=timezone.now(),
    )


def queries(client: Client, url: str, **params: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, url
    return len(captured), response.content.decode()


def pages(client: Client) -> dict[str, tuple[str, dict[str, str]]]:
    last = AuditEntry.objects.order_by("at", "id").values_list("pk", flat=True)
    return {
        "my org": (reverse("directory:my_org"), {}),
        "my org, page 2": (reverse("directory:my_org"), {"page": "2"}),
        "my org, search": (reverse("directory:my_org"), {"q": "example"}),
        "people": (reverse("accounts:people"), {}),
        "people, search": (reverse("accounts:people"), {"q": "example"}),
        "audit log": (reverse("audit_log"), {}),
        "audit log, next page": (reverse("audit_log"), {"after": str(last.last())}),
        "audit log, oldest page": (reverse("audit_log"), {"oldest": "1"}),
        "audit log, by action": (reverse("audit_log"), {"action": "user.created"}),
        "audit log, by target": (reverse("audit_log"), {"q": "example.com"}),
        "review queue": (reverse("provisioning:review"), {}),
        "review queue, oldest": (reverse("provisioning:review"), {"oldest": "1"}),
    }


def test_no_page_issues_a_query_per_row() -> None:
    """Each page takes as many queries with more than a page of rows as with twice as many, and one more at
    most than with one row (a page that shows every row needs no count)."""
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    client = signed_in(admin)
    counts = []
    for start, size in ((0, 1), (1, 120), (121, 120)):
        hold(add_people(org, size, start=start))
        add_entries(org, size, start=start)
        add_entries(org, 2, action="user.deactivated", start=1000 + start)
        counts.append(
            {name: queries(client, url, **params)[0] for name, (url, params) in pages(client).items()}
        )
    one, many, twice = counts

    assert many == twice
    assert all(one[name] <= many[name] <= one[name] + 1 for name in one), (one, many)
    assert max(many.values()) <= 15  # the frame (session, membership, health, held changes) and the page


def shown_targets(html: str) -> list[int]:
    body = html.split('id="audit"', 1)[1].split("</tbody>", 1)[0]
    return [int(n) for n in re.findall(r"<td>person(\d+)@example.com</td>", body)]


def test_the_audit_log_pages_by_keyset_both_ways() -> None:
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN))
    add_entries(org, 120)
    add_entries(make_org(), 5)  # another organization's entries are never shown
    url = reverse("audit_log")

    first = client.get(url).content.decode()
    assert shown_targets(first) == list(range(119, 69, -1))
    assert "Previous" not in first and "120 entries" in first
    older = AuditEntry.objects.get(organization=org, detail__n=70).pk
    second = client.get(url, {"after": older}).content.decode()
    assert shown_targets(second) == list(range(69, 19, -1))
    oldest = client.get(url, {"oldest": "1"}).content.decode()
    assert shown_targets(oldest) == list(range(49, -1, -1))
    assert "Next" not in oldest
    newer = AuditEntry.objects.get(organization=org, detail__n=49).pk
    assert shown_targets(client.get(url, {"before": newer}).content.decode()) == list(range(99, 49, -1))
    stranger = AuditEntry.objects.exclude(organization=org).first()
    assert stranger is not None
    assert shown_targets(client.get(url, {"after": stranger.pk}).content.decode()) == shown_targets(first)


def test_the_audit_log_counts_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN))
    add_entries(org, 12)
    monkeypatch.setattr(audit_pages, "COUNTED_UP_TO", 10)
    assert "More than 10 entries" in client.get(reverse("audit_log")).content.decode()
    assert "1 entry match" in client.get(reverse("audit_log"), {"q": "PERSON11@"}).content.decode()


def test_the_action_menu_lists_the_organizations_own_actions_and_filters_on_one() -> None:
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN))
    add_entries(org, 3)
    add_entries(org, 2, action="user.deactivated", start=3)
    add_entries(make_org(), 1, action="sso.configured")

    assert audit_pages.actions_of(org.pk) == ["user.created", "user.deactivated"]
    html = client.get(reverse("audit_log"), {"action": "user.deactivated"}).content.decode()
    assert shown_targets(html) == [4, 3]
    assert '<option value="user.deactivated" selected>' in html


def test_my_org_search_finds_every_word_in_any_field_and_counts_once() -> None:
    org = make_org()
    member = make_user(org)
    add_people(org, 4)
    client = signed_in(member)

    _, html = queries(client, reverse("directory:my_org"), q="first3 ENGINEER")
    assert "person3@example.com" in html and "person1@example.com" not in html
    assert "1 matching person" in html
    _, html = queries(
        client, reverse("directory:my_org"), q="last001engineer"
    )  # a word is not found across fields
    assert "No one matches" in html


def test_my_org_counts_up_to_a_cap_and_pages_by_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from skillibrium.directory import views

    org = make_org()
    client = signed_in(make_user(org))
    add_people(org, 5)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(views, "COUNTED_UP_TO", 3)

    first = client.get(reverse("directory:my_org")).content.decode()
    assert "More than 3 people" in first and "Page 1</span>" in first and "page=2" in first
    monkeypatch.setattr(views, "COUNTED_UP_TO", 10)
    last = client.get(reverse("directory:my_org"), {"page": "3"}).content.decode()
    assert "5 people" in last and "Page 3 of 3" in last and "page=4" not in last
    assert "person4@example.com" in last and "person3@example.com" not in last


def test_the_review_queue_shows_a_page_of_a_mass_hold_and_counts_it_all() -> None:
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN))
    hold(add_people(org, 130))

    html = client.get(reverse("provisioning:review")).content.decode()
    assert html.count('name="held" value=') == 50
    assert "Approve all 130" in html
    newest = HeldChange.objects.filter(organization=org, status=HoldStatus.PENDING).order_by("created_at")
    last_shown = newest[30].pk
    rest = client.get(reverse("provisioning:review"), {"after": last_shown}).content.decode()
    assert rest.count('name="held" value=') == 30


def export_under_asgi(user: User) -> tuple[bool, str, list[str]]:
    async def fetch() -> tuple[bool, str, list[str]]:
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get(reverse("audit_csv"))
        parts = [part async for part in response.streaming_content]  # type: ignore[union-attr]
        return response.is_async, b"".join(parts).decode(), [str(w.message) for w in caught]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        return async_to_sync(fetch)()


def test_the_csv_export_streams_under_asgi_in_chunks_and_matches_the_wsgi_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Django collects a synchronous iterator into a list under ASGI (and warns): the export is asynchronous
    there, read a chunk at a time, and says what the synchronous one says."""
    from skillibrium.accounts import audit

    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    add_entries(org, 25)
    monkeypatch.setattr(audit, "EXPORT_CHUNK", 10)

    is_async, text, warned = export_under_asgi(admin)
    wsgi = b"".join(signed_in(admin).get(reverse("audit_csv")).streaming_content).decode()  # type: ignore[attr-defined]

    assert is_async and not any("consume synchronous iterators" in w for w in warned)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "actor", "action", "target", "detail", "run"]
    assert [r[3] for r in rows[1:]] == [f"person{n}@example.com" for n in range(24, -1, -1)]
    assert text == wsgi

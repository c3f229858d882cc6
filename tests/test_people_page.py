"""Company Settings > People: roles, hand activation with overrides the HRIS sync respects, and its guards."""

import re
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from skillibrium.accounts import people_search
from skillibrium.accounts.models import AccessOverride, Membership, Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.provisioning.tasks import provision_everyone

from .factories import make_org, make_user, signed_in
from .sandboxed import Sandbox, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def act(client: Client, action: str, user: User) -> None:
    client.post(reverse(f"accounts:people_{action}", args=[user.pk]))


def test_promote_and_demote_are_audited_and_the_last_admin_stays() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    client = signed_in(admin)
    act(client, "promote", member)
    assert Membership.objects.get(user=member).role == Role.ADMIN
    entry = AuditEntry.objects.get(action="user.promoted")
    assert (entry.target, entry.detail["before"], entry.actor_id) == (
        member.email,
        {"role": "member"},
        admin.pk,
    )
    act(client, "demote", member)
    act(client, "demote", admin)
    response = client.get(reverse("accounts:people"))
    assert Membership.objects.get(user=admin).role == Role.ADMIN
    assert "last active admin" in response.content.decode()
    assert AuditEntry.objects.filter(action="user.demoted").count() == 1


def test_deactivate_by_hand_refuses_self_and_is_audited() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    client = signed_in(admin)
    act(client, "deactivate", admin)
    act(client, "deactivate", member)
    admin.refresh_from_db()
    member.refresh_from_db()
    assert (admin.is_active, member.is_active) == (True, False)
    assert AuditEntry.objects.get(action="user.deactivated_by_hand").target == member.email
    act(client, "reactivate", member)
    member.refresh_from_db()
    assert member.is_active and Membership.objects.get(user=member).access_override == ""


def test_members_are_refused_and_another_organizations_user_is_not_found() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    stranger = make_user(make_org())
    assert signed_in(member).get(reverse("accounts:people")).status_code == 403
    response = signed_in(admin).post(reverse("accounts:people_deactivate", args=[stranger.pk]))
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def _people_page(client: Client, **params: str) -> tuple[str, int]:
    """The page's HTML and the number of queries it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("accounts:people"), params)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def _shown(html: str) -> list[str]:
    return re.findall(r'<div class="muted small">([^<]+@[^<]+)</div>', html)


def test_a_page_costs_the_same_queries_whatever_it_shows() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN, email="admin@example.com")
    client = signed_in(admin)
    _, alone = _people_page(client)
    for n in range(60):
        make_user(org, email=f"person{n:03}@example.com")
    make_user(make_org(), email="person999@example.com")
    html, full = _people_page(client)
    assert (len(_shown(html)), full) == (50, alone)
    assert "Next" in html and "61 users" in html
    one, searching_one = _people_page(client, q="person007")
    many, searching_many = _people_page(client, q="person0")
    assert (_shown(one), len(_shown(many))) == (["person007@example.com"], 50)
    assert searching_one == searching_many


def test_a_search_finds_a_full_name_or_a_fragment_and_pages_through_every_match_once() -> None:
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN, email="admin@example.com"))
    for n in range(120):
        user = make_user(org, email=f"p{n:03}.{'ada' if n % 2 else 'bob'}@example.com")
        User.objects.filter(pk=user.pk).update(first_name="Ada" if n % 2 else "Bob", last_name=f"Byron{n:03}")
    assert _shown(_people_page(client, q="ada byron007")[0]) == ["p007.ada@example.com"]
    html, _ = _people_page(client, q="ADA")
    assert "60 matching users" in html
    assert _pages(client, "ada") == [f"p{n:03}.ada@example.com" for n in range(1, 120, 2)]


def test_a_search_matching_more_than_it_sorts_walks_the_email_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people_search, "SORTED_UP_TO", 20)
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN, email="admin@example.com"))
    for n in range(70):
        make_user(org, email=f"p{n:03}@example.com")
    assert "More than 20 matching users" in _people_page(client, q="p0")[0]
    assert _pages(client, "p0") == [f"p{n:03}@example.com" for n in range(70)]


def test_the_whole_organization_is_counted_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting 100,000 memberships cost more than the rest of the page: past the cap it says "more than"."""
    org = make_org()
    client = signed_in(make_user(org, role=Role.ADMIN, email="admin@example.com"))
    for n in range(5):
        make_user(org, email=f"p{n:03}@example.com")
    assert "6 users" in _people_page(client)[0]
    monkeypatch.setattr(people_search, "SORTED_UP_TO", 4)
    assert "More than 4 users" in _people_page(client)[0]


def _pages(client: Client, query: str) -> list[str]:
    """Every email a search shows, following its Next links."""
    shown: list[str] = []
    params = {"q": query}
    while True:
        html, _ = _people_page(client, **params)
        shown += _shown(html)
        found = re.search(r'&after=([^"]+)">Next', html)
        if not found:
            return shown
        params["after"] = unquote(found.group(1))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_a_search_reads_the_trigram_index() -> None:
    matching = (
        User.objects.alias(text=people_search.SearchText()).filter(text__contains="ADA").values_list("pk")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = matching.explain()
    assert "user_search_trgm" in plan


def test_hand_deactivation_of_an_active_hris_person_is_kept_across_syncs(sandbox: Sandbox) -> None:
    integration, _, _, client = setup(sandbox, size=5)
    person = provisioned(integration)[0]
    assert person.user is not None
    act(client, "deactivate", person.user)
    assert Membership.objects.get(user=person.user).access_override == AccessOverride.KEPT_DEACTIVATED
    sync(integration)
    person.user.refresh_from_db()
    assert not person.user.is_active
    act(client, "clear_override", person.user)
    assert AuditEntry.objects.filter(action="user.override_cleared").count() == 1
    provision_everyone.call(integration.organization_id)  # the pass clearing queues
    person.user.refresh_from_db()
    assert person.user.is_active


def test_hand_reactivation_of_a_terminated_hris_person_is_kept_across_syncs(sandbox: Sandbox) -> None:
    integration, _, tenant, client = setup(sandbox, size=5)
    person = provisioned(integration)[0]
    assert person.user is not None
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{person.identities.get().remote_id}/terminate")
    sandbox.merge_sync()
    sync(integration)
    person.user.refresh_from_db()
    assert not person.user.is_active
    act(client, "reactivate", person.user)
    assert Membership.objects.get(user=person.user).access_override == AccessOverride.KEPT_ACTIVE
    sync(integration)
    person.user.refresh_from_db()
    assert person.user.is_active
    act(client, "clear_override", person.user)
    provision_everyone.call(integration.organization_id)
    person.user.refresh_from_db()
    assert not person.user.is_active


def test_invite_by_email_and_resend_are_audited() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    client = signed_in(admin)
    client.post(reverse("accounts:people_invite"), {"email": "Contractor@Example.com"})
    invited = User.objects.get(email="contractor@example.com")
    assert Membership.objects.get(user=invited).organization == org
    act(client, "resend", invited)
    actions = set(AuditEntry.objects.filter(target=invited.email).values_list("action", flat=True))
    assert {"invitation.sent", "invitation.resent"} <= actions

"""The product's own 400, 403, 404, 500 and CSRF pages: a sentence on what happened and what to do, a way
back, and nothing of another organization (a 404 reads the same whether a page is missing or another's)."""

import re

import pytest
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.views.defaults import server_error
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Organization, Role, User
from skillibrium.shell.errors import NotFoundPageInDebug

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db

ADMIN_ONLY = "Only Alpha's admins can open this page."
NOT_FOUND = "There is no such page, or it is not one your account can open."


def named_user(organization: Organization, first: str, last: str, *, role: Role = Role.MEMBER) -> User:
    user = make_user(organization, role=role)
    user.first_name, user.last_name = first, last
    user.save()
    return user


def text(response: HttpResponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def without_per_response_tokens(response: HttpResponse) -> str:
    """The page less its CSRF token and CSP nonce, which differ on every response."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return re.sub(r'nonce="[^"]+"', "", page)


def test_a_member_on_an_admin_page_is_told_which_admins_to_ask() -> None:
    alpha, bravo = make_org("Alpha"), make_org("Bravo")
    named_user(alpha, "Ada", "Lovelace", role=Role.ADMIN)
    named_user(alpha, "Grace", "Hopper", role=Role.ADMIN)
    gone = named_user(alpha, "Former", "Admin", role=Role.ADMIN)
    gone.is_active = False
    gone.save()
    named_user(bravo, "Bravo", "Boss", role=Role.ADMIN)
    member = signed_in(named_user(alpha, "Mia", "Member"))

    response = member.get(reverse("integrations:hris_settings"))

    assert response.status_code == 403
    page = text(response)
    assert f"{ADMIN_ONLY} Ask Ada Lovelace or Grace Hopper if something here needs changing." in page
    assert "Former" not in page and "Bravo" not in page
    assert 'href="/my-org/"' in response.content.decode()
    assert 'action="/accounts/logout/"' in response.content.decode() and "Sign out" in page


def test_a_member_on_a_staff_page_is_told_it_is_for_staff() -> None:
    member = signed_in(make_user(make_org("Alpha")))

    response = member.get(reverse("staff_operations"))

    assert response.status_code == 403
    assert "This page is for Skillibrium staff only." in text(response)


def test_staff_on_an_organization_page_are_pointed_to_operations() -> None:
    staff = signed_in(User.objects.create_user("support@skillibrium.example", "x", is_staff=True))

    response = staff.get(reverse("integrations:hris_settings"))

    assert response.status_code == 403
    assert "Skillibrium staff look at organizations from Operations." in text(response)
    assert f'href="{reverse("staff_operations")}"' in response.content.decode()


def test_another_organizations_page_reads_exactly_like_a_missing_one() -> None:
    alpha = make_org("Alpha")
    admin = signed_in(make_user(alpha, role=Role.ADMIN))
    theirs = make_integration(make_org("Bravo Secret Org"))
    theirs.provider_name = "BravoHRIS"
    theirs.save()

    someone_elses = admin.get(reverse("integrations:edit", args=[theirs.pk]))
    missing = admin.get(reverse("integrations:edit", args=[theirs.pk + 1000]))

    assert (someone_elses.status_code, missing.status_code) == (404, 404)
    assert without_per_response_tokens(someone_elses) == without_per_response_tokens(missing)
    assert NOT_FOUND in text(someone_elses)
    assert "bravo" not in someone_elses.content.decode().lower()
    assert "Go to My Org" in text(someone_elses)


def test_an_unknown_address_is_the_products_404_without_echoing_it() -> None:
    response = Client().get("/no-such-page-bravo/")

    assert response.status_code == 404
    assert NOT_FOUND in text(response)
    assert "bravo" not in response.content.decode().lower()
    assert f'href="{reverse("account_login")}"' in response.content.decode()


def test_with_debug_on_a_missing_page_is_still_the_products_404(settings: Settings) -> None:
    settings.DEBUG = True
    member = signed_in(make_user(make_org("Alpha")))

    unknown = member.get("/no-such-page/")
    unknown_without_slash = member.get("/my-org")

    assert unknown.status_code == 404 and NOT_FOUND in text(unknown)
    assert (unknown_without_slash.status_code, unknown_without_slash["Location"]) == (301, "/my-org/")


def test_with_debug_on_a_view_refusing_an_id_shows_the_products_404(settings: Settings) -> None:
    settings.DEBUG = True
    request = RequestFactory().get("/my-org/")
    request.user = make_user(make_org("Alpha"))
    pages = NotFoundPageInDebug(lambda r: HttpResponse())

    response = pages.process_exception(request, Http404("No such user in your organization."))

    assert response is not None and response.status_code == 404
    assert NOT_FOUND in text(response) and "No such user" not in text(response)


def test_a_request_from_a_host_we_do_not_serve_gets_the_products_400() -> None:
    response = Client().get("/", HTTP_HOST="elsewhere.invalid")

    assert response.status_code == 400
    assert "Skillibrium could not read this request, so nothing was changed." in text(response)


def test_the_500_page_needs_no_request_context_nor_database(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    page = text(response)
    assert "it was our fault, not yours" in page and "Try again in a minute" in page
    for link in re.findall(r'<a [^>]*href="(/[^"]*)"', response.content.decode()):
        resolve(link)  # every way back is a page of ours


def test_a_form_posted_without_its_csrf_token_is_told_nothing_changed() -> None:
    member = signed_in(make_user(make_org("Alpha")))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = member.cookies

    response = strict.post(reverse("account_logout"))

    assert response.status_code == 403
    assert "so Skillibrium did not act on it. Go back, reload the page and try again." in text(response)
    assert "Go to My Org" in text(response)

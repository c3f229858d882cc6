"""Admin-only pages and actions refuse members on the server; other organizations' ids answer 404."""

import pytest
from django.test import Client
from django.urls import reverse

from skillibrium.accounts.models import Role

from .factories import make_integration, make_org, make_user

pytestmark = pytest.mark.django_db

ADMIN_GETS = ["integrations:hris_settings", "integrations:company_integrations"]
ADMIN_GETS_WITH_ID = ["integrations:edit", "integrations:company_edit"]
ADMIN_POSTS_WITH_ID = ["integrations:relink_start", "integrations:relink_complete", "integrations:sync_now"]


def signed_in(role: Role) -> tuple[Client, int]:
    org = make_org()
    integration = make_integration(org)
    client = Client()
    client.force_login(make_user(org, role=role))
    return client, integration.pk


@pytest.mark.parametrize("name", ADMIN_GETS)
def test_member_is_refused_admin_pages(name: str) -> None:
    client, _ = signed_in(Role.MEMBER)
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_GETS_WITH_ID)
def test_member_is_refused_edit_views(name: str) -> None:
    client, pk = signed_in(Role.MEMBER)
    assert client.get(reverse(name, args=[pk])).status_code == 403


@pytest.mark.parametrize("name", ADMIN_POSTS_WITH_ID)
def test_member_is_refused_relink_and_sync(name: str) -> None:
    client, pk = signed_in(Role.MEMBER)
    assert client.post(reverse(name, args=[pk]), {"public_token": "x"}).status_code == 403


@pytest.mark.parametrize("name", ADMIN_GETS_WITH_ID)
def test_admin_of_another_org_gets_404(name: str) -> None:
    client, _ = signed_in(Role.ADMIN)
    _, other_pk = signed_in(Role.ADMIN)
    assert client.get(reverse(name, args=[other_pk])).status_code == 404


@pytest.mark.parametrize("name", ADMIN_POSTS_WITH_ID)
def test_admin_of_another_org_cannot_relink_or_sync(name: str) -> None:
    client, _ = signed_in(Role.ADMIN)
    _, other_pk = signed_in(Role.ADMIN)
    assert client.post(reverse(name, args=[other_pk]), {"public_token": "x"}).status_code == 404


def test_actions_refuse_get() -> None:
    client, pk = signed_in(Role.ADMIN)
    for name in ADMIN_POSTS_WITH_ID:
        assert client.get(reverse(name, args=[pk])).status_code == 405


def test_anonymous_is_sent_to_sign_in() -> None:
    org = make_org()
    pk = make_integration(org).pk
    for url in [
        reverse("directory:my_org"),
        reverse("integrations:edit", args=[pk]),
        reverse("accounts:settings"),
    ]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_member_sees_my_org_without_admin_menu() -> None:
    client, _ = signed_in(Role.MEMBER)
    page = client.get(reverse("directory:my_org")).content.decode()
    assert "My Org" in page
    assert "Manage HRIS Settings" not in page


def test_admin_sees_manage_hris_settings() -> None:
    client, _ = signed_in(Role.ADMIN)
    page = client.get(reverse("directory:my_org")).content.decode()
    assert "Manage HRIS Settings" in page


def test_member_company_settings_has_no_integrations_panel() -> None:
    client, _ = signed_in(Role.MEMBER)
    page = client.get(reverse("accounts:settings_company")).content.decode()
    assert reverse("integrations:company_integrations") not in page

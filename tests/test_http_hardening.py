"""What every response tells the browser: a Content-Security-Policy that admits only our own code and Merge
Link, no framing, cookies out of scripts' reach, sessions that end. Production's https-only headers are in
tests/test_deployment.py; CSRF on every signed-in state-changing route is in tests/test_url_walk.py."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Role

from .factories import PASSWORD, make_integration, make_org, make_user

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")


def policy(response: HttpResponse) -> dict[str, list[str]]:
    directives = (d.strip().split() for d in response.headers["Content-Security-Policy"].split(";"))
    return {name: values for name, *values in directives}


def admin_pages() -> list[HttpResponse]:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    client = Client()
    client.force_login(admin)
    urls = [reverse("directory:my_org"), reverse("integrations:edit", args=[integration.pk])]
    return [Client().get(LOGIN), *(client.get(url) for url in urls)]


def test_every_page_has_a_policy_admitting_merge_link_and_refuses_framing() -> None:
    pages = admin_pages()

    assert [page.status_code for page in pages] == [200, 200, 200]
    for page in pages:
        csp = policy(page)
        assert page.headers["X-Frame-Options"] == "DENY"
        assert csp["frame-ancestors"] == ["'none'"] and csp["default-src"] == ["'self'"]
        assert settings.MERGE_LINK_ORIGIN in csp["script-src"]
        assert settings.MERGE_LINK_ORIGIN in csp["frame-src"]
        assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]


def test_merge_links_script_carries_the_nonce_of_the_policy() -> None:
    edit = admin_pages()[2]
    nonce = next(v for v in policy(edit)["script-src"] if v.startswith("'nonce-"))[7:-1]
    tag = f'<script src="{settings.MERGE_LINK_SCRIPT_URL}" nonce="{nonce}"></script>'

    assert settings.MERGE_LINK_SCRIPT_URL.startswith(settings.MERGE_LINK_ORIGIN + "/")
    assert tag in edit.content.decode()
    assert re.findall(r"<script(?![^>]*nonce=)", edit.content.decode()) == []


def test_sign_in_cookies_are_http_only_and_end_with_the_browser() -> None:
    user = make_user(make_org())
    signed_in_at = timezone.now()
    response = Client().post(LOGIN, {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    for name in ("sessionid", "csrftoken"):
        cookie = response.cookies[name]
        assert (cookie["httponly"], cookie["samesite"]) == (True, "Lax")
        assert cookie["secure"] == ""  # this site's URL is http://; https makes it Secure
    assert (response.cookies["sessionid"]["max-age"], response.cookies["sessionid"]["expires"]) == ("", "")
    session = Session.objects.get(session_key=response.cookies["sessionid"].value)
    lifetime = session.expire_date - signed_in_at
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert dt.timedelta(hours=8) <= lifetime < dt.timedelta(hours=8, minutes=1)


def test_browsing_does_not_extend_the_session_and_it_then_ends() -> None:
    user = make_user(make_org())
    client = Client()
    client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    sessions = Session.objects.filter(session_key=client.session.session_key)
    expires = sessions.get().expire_date

    pages = [client.get(reverse("directory:my_org")).status_code for _ in range(3)]
    assert pages == [200, 200, 200] and sessions.get().expire_date == expires
    sessions.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(reverse("directory:my_org")).headers["Location"].startswith(LOGIN)


def test_sign_in_without_the_csrf_token_is_refused() -> None:
    user = make_user(make_org())
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)

    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session

"""SSO end to end in Chromium: an admin configures it in Company Settings → SSO, people sign in through a real
OpenID provider and a real SAML IdP; forged, misaddressed and replayed answers are refused."""

import re
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Request, expect

from .conftest import Stack, screenshot
from .idp import register_oidc_client, set_mode, start_oidc_provider, start_saml_idp

pytestmark = pytest.mark.browser

ADMIN, MEMBER, PASSWORD = "admin@acme.example", "member@acme.example", "skillibrium-demo"
REFUSED = "Single sign-on failed"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def oidc_idp() -> Iterator[str]:
    url, process = start_oidc_provider()
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def saml_idp() -> Iterator[str]:
    url, process = start_saml_idp()
    yield url
    _stop(process)


def set_active(stack: Stack, email: str, active: bool) -> None:
    code = f"User.objects.filter(email='{email}').update(is_active={active})"
    stack.manage("shell", "-c", f"from skillibrium.accounts.models import User; {code}")


def open_sso_settings(page: Page, stack: Stack) -> None:
    page.context.clear_cookies()
    page.goto(stack.web)
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Profile menu").click()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("tab", name="Company Settings").click()
    page.get_by_label("Company settings sections").get_by_role("link", name="SSO").click()
    expect(page.get_by_role("heading", name="Single sign-on")).to_be_visible()


def save_sso(page: Page, protocol: str, **fields: str) -> None:
    page.get_by_label(protocol, exact=True).check()
    page.get_by_label("Identity provider name").fill(fields.pop("name"))
    page.get_by_label("Domains").fill("acme.example")
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Enable single sign-on").check()
    page.get_by_role("button", name="Save SSO settings").click()
    expect(page.get_by_role("status")).to_contain_text("Single sign-on settings saved.")


def start_sso(page: Page, stack: Stack, email: str) -> None:
    page.context.clear_cookies()
    page.goto(stack.web)
    page.get_by_role("link", name="Sign in with SSO").click()
    page.get_by_label("Work email").fill(email)
    page.get_by_role("button", name="Continue").click()


def oidc_sign_in(page: Page, stack: Stack, email: str) -> None:
    start_sso(page, stack, email)
    page.locator("input[name=login]").fill(email)  # the provider's own sign-in page
    page.locator("input[name=password]").fill("any")
    page.get_by_role("button", name="Sign-in").click()


def saml_sign_in(page: Page, stack: Stack, email: str) -> None:
    start_sso(page, stack, email)
    expect(page.get_by_role("heading", name="Test IdP")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Sign in to IdP").click()


def expect_signed_in_as(page: Page, stack: Stack, name: str) -> None:
    expect(page.get_by_role("heading", name="My Org")).to_be_visible()
    expect(page.get_by_label("Profile menu")).to_contain_text(name)


def expect_refused(page: Page, stack: Stack, reason: str = "") -> None:
    expect(page.get_by_role("heading", name=REFUSED)).to_be_visible()
    if reason:
        expect(page.get_by_role("alert")).to_contain_text(reason)
    response = page.goto(f"{stack.web}/my-org/")
    assert response is not None
    assert re.search(r"/accounts/login/", page.url), "a refused sign-in must leave no session"


def test_oidc_sign_in_and_forged_or_replayed_tokens(stack: Stack, page: Page, oidc_idp: str) -> None:
    open_sso_settings(page, stack)
    redirect_uri = page.get_by_test_id("oidc-redirect-uri").inner_text()
    client_id, secret = register_oidc_client(oidc_idp, redirect_uri)
    save_sso(
        page,
        "OpenID Connect",
        name="Test OpenID",
        **{"Issuer URL": oidc_idp, "Client ID": client_id, "Client secret": secret},
    )
    screenshot(page, "sso-settings-oidc")

    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/login/callback/" in r.url else None)
    oidc_sign_in(page, stack, MEMBER)
    expect_signed_in_as(page, stack, "Max Member")

    # The same authorization response again, in the browser that used it and in a fresh one.
    page.goto(callbacks[-1])
    expect(page.get_by_role("heading", name=REFUSED)).to_be_visible()
    page.context.clear_cookies()
    page.goto(callbacks[-1])
    expect_refused(page, stack)

    set_mode(oidc_idp, "wrong-signature")
    try:
        oidc_sign_in(page, stack, MEMBER)
        expect_refused(page, stack)
        set_mode(oidc_idp, "wrong-audience")
        oidc_sign_in(page, stack, MEMBER)
        expect_refused(page, stack)
    finally:
        set_mode(oidc_idp, "normal")

    oidc_sign_in(page, stack, "stranger@acme.example")  # the IdP knows them; Skillibrium does not
    expect_refused(page, stack, "There is no Skillibrium account for stranger@acme.example")

    set_active(stack, MEMBER, False)
    try:
        oidc_sign_in(page, stack, MEMBER)
        expect_refused(page, stack, "deactivated")
    finally:
        set_active(stack, MEMBER, True)


def test_saml_sign_in_and_forged_misaddressed_or_replayed_assertions(
    stack: Stack, page: Page, saml_idp: str
) -> None:
    open_sso_settings(page, stack)
    save_sso(page, "SAML 2.0", name="Test SAML", **{"Metadata URL": f"{saml_idp}/metadata"})
    screenshot(page, "sso-settings-saml")

    acs_posts: list[Request] = []
    page.on("request", lambda r: acs_posts.append(r) if r.method == "POST" and "/acs/" in r.url else None)
    saml_sign_in(page, stack, ADMIN)
    expect_signed_in_as(page, stack, "Ada Admin")
    assert acs_posts, "the IdP posts its response to our ACS"

    # The IdP posts the very same signed response again: in the same browser, then in a fresh one.
    page.goto(f"{saml_idp}/replay")
    expect(page.get_by_role("alert")).to_contain_text("already used")
    page.context.clear_cookies()
    page.goto(f"{saml_idp}/replay")
    expect_refused(page, stack, "already used")

    set_mode(saml_idp, "wrong-signature")
    try:
        saml_sign_in(page, stack, ADMIN)
        expect_refused(page, stack)
        set_mode(saml_idp, "wrong-audience")
        saml_sign_in(page, stack, ADMIN)
        expect_refused(page, stack)
    finally:
        set_mode(saml_idp, "normal")

    set_active(stack, MEMBER, False)
    try:
        saml_sign_in(page, stack, MEMBER)
        expect_refused(page, stack, "deactivated")
    finally:
        set_active(stack, MEMBER, True)
    saml_sign_in(page, stack, MEMBER)
    expect_signed_in_as(page, stack, "Max Member")

"""The help article's HRIS steps 1-10, literally, after the HRIS sync user's password was reset."""

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, stack: Stack, email: str = "admin@acme.example") -> None:
    page.goto(stack.web)  # 1. Go to your Skillibrium environment.
    page.get_by_label("Email").fill(email)  # 2. Log in with your admin credentials.
    page.get_by_label("Password").fill("skillibrium-demo")
    page.get_by_role("button", name="Sign in").click()


def break_connection(stack: Stack) -> dict[str, str]:
    """The HRIS admin resets the sync user's password; Merge's next sync fails; Skillibrium notices."""
    tenant = stack.control("GET", "tenants")["results"][0]
    new_password = stack.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    stack.control("POST", "sync")
    stack.manage("sync_account", "--all")
    return {"id": tenant["id"], "username": tenant["username"], "password": new_password}


def test_admin_relinks_hris_along_the_article(stack: Stack, page: Page) -> None:
    credentials = break_connection(stack)
    hire = stack.control(
        "POST", f"tenants/{credentials['id']}/people", first_name="Grace", last_name="Hopper"
    )

    sign_in(page, stack)
    expect(page.get_by_role("alert")).to_contain_text("Relink needed")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My Org").click()  # 3.
    page.get_by_label("More actions").click()  # 4. The three dots in the upper right corner.
    page.get_by_role("link", name="Manage HRIS Settings").click()  # 5.
    card = page.locator(".integration-card", has_text="Workday")  # 6. The connected integration's logo.
    expect(card).to_contain_text("Relink needed")
    screenshot(page, "hris-settings-card")
    card.get_by_label("Actions for Workday").click()  # 7. The three dots next to the logo.
    card.get_by_role("link", name="Edit").click()  # 8.
    expect(page.locator(".cause")).to_have_text("Password reset for the linked user account")
    screenshot(page, "edit-relink-needed")
    page.get_by_role("button", name="Relink Integration").click()  # 9.

    link = page.frame_locator("iframe")  # 10. Re-authenticate with the HRIS provider in Merge Link.
    link.get_by_label("Username").fill(credentials["username"])
    link.get_by_label("Password").fill("not-the-password")
    link.get_by_role("button", name="Connect").click()
    expect(link.get_by_text(re.compile("Invalid credentials"))).to_be_visible()
    link.get_by_label("Username").fill(credentials["username"])
    link.get_by_label("Password").fill(credentials["password"])
    link.get_by_role("button", name="Connect").click()

    expect(page.get_by_role("status")).to_contain_text("The integration has been successfully linked.")
    screenshot(page, "relink-confirmation")
    catch_up = page.locator("#runs tr[data-run-trigger=relink][data-run-status=succeeded]")

    def shown() -> bool:  # the worker runs the catch-up sync; the page shows its result on reload
        page.reload()
        return bool(catch_up.count())

    stack.wait_until(shown, what="the catch-up sync", tables=("sync_syncrun",), every=10)
    expect(catch_up).to_have_count(1)
    expect(page.locator("[data-health]").first).to_have_attribute("data-health", "healthy")
    expect(page.get_by_role("alert")).to_have_count(0)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My Org").click()
    page.get_by_label("Search people").fill(hire["last_name"])
    expect(page.locator("#people")).to_contain_text("Grace Hopper")


def test_member_has_no_hris_settings_and_is_told_whom_to_ask(stack: Stack, page: Page) -> None:
    page.goto(stack.web)
    expect(
        page.get_by_text("Sign in with your work email and password, or with your organization's")
    ).to_be_visible()
    sign_in(page, stack, email="member@acme.example")
    expect(page.get_by_role("heading", name="My Org")).to_be_visible()
    expect(page.get_by_label("More actions")).to_have_count(0)

    response = page.goto(f"{stack.web}/my-org/hris/")
    assert response is not None and response.status == 403
    expect(page.locator("[data-error='403']")).to_contain_text(
        "Only Acme Corporation's admins can open this page. Ask Ada Admin if something here needs changing."
    )
    page.locator("[data-error='403']").get_by_role("link", name="Go to My Org").click()
    expect(page.get_by_role("heading", name="My Org")).to_be_visible()

    response = page.goto(f"{stack.web}/my-org/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My Org")
    ).to_be_visible()
    page.locator("[data-error='404']").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Skillibrium")).to_be_visible()

"""Test connection in the browser: the answer appears on the Edit page in place, and when Merge's answer moved
the health, the status card shows it too."""

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack
from .test_relink_hris import sign_in

pytestmark = pytest.mark.browser


def test_the_answer_appears_in_place_with_the_status_it_moved(stack: Stack, page: Page) -> None:
    sign_in(page, stack)
    page.goto(f"{stack.web}/my-org/hris/")
    card = page.locator(".integration-card", has_text="Workday")
    card.get_by_label("Actions for Workday").click()
    card.get_by_role("link", name="Edit").click()
    edit_url = page.url
    answer = page.locator("#connection-test")

    page.get_by_role("button", name="Test connection").click()

    expect(answer).to_contain_text("Works. Merge.dev reaches Workday")
    expect(answer.locator("li[data-passed=yes]")).to_have_count(3)

    tenant = next(t for t in stack.control("GET", "tenants")["results"] if t["provider"] == "workday")
    stack.control("POST", f"tenants/{tenant['id']}/reset-password")
    stack.control("POST", "sync")
    page.get_by_role("button", name="Test connection").click()

    expect(answer).to_contain_text("Relink needed. Password reset for the linked user account")
    expect(answer).to_contain_text("Status changed: Healthy → Relink needed")
    expect(page.locator("#status-card .cause")).to_have_text("Password reset for the linked user account")
    assert page.url == edit_url  # swapped in, not a page of its own

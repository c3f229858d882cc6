"""The help article's CRM steps, literally, after the CRM sync user's password was reset."""

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot
from .test_relink_hris import sign_in

pytestmark = pytest.mark.browser


def test_admin_relinks_crm_along_the_article(stack: Stack, page: Page) -> None:
    tenant = next(t for t in stack.control("GET", "tenants")["results"] if t["provider"] == "salesforce")
    password = stack.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    stack.control("POST", "sync")
    stack.manage("sync_account", "--all")

    sign_in(page, stack)  # 1-2.
    expect(page.get_by_role("alert").filter(has_text="Salesforce")).to_contain_text("Relink needed")
    page.get_by_label("Profile menu").click()  # 3. The profile menu, top right.
    page.get_by_role("link", name="Settings").click()  # 4. Settings, then the Company Settings tab.
    page.get_by_role("tab", name="Company Settings").click()
    page.get_by_role("complementary").get_by_role("link", name="Integrations").click()  # 5. The right panel.
    row = page.get_by_role("row").filter(has_text="Salesforce")  # 6. Company Integrations, Actions column.
    expect(row).to_contain_text("Relink needed")
    row.get_by_label("Actions for Salesforce").click()
    row.get_by_role("link", name="Edit").click()  # 7.
    page.get_by_role("button", name="Relink Integration").click()  # 9.
    link = page.frame_locator("iframe")  # 10. Re-authenticate with the CRM provider.
    link.get_by_label("Username").fill(tenant["username"])
    link.get_by_label("Password").fill(password)
    link.get_by_role("button", name="Connect").click()

    expect(page.get_by_role("status")).to_contain_text("The integration has been successfully re-linked.")
    expect(page.locator(".crumbs")).to_contain_text("Company Settings")
    screenshot(page, "crm-relink-confirmation")
    done = page.locator("#runs tr[data-run-trigger=relink][data-run-status=succeeded]")

    def shown() -> bool:  # the worker runs the catch-up sync; the page shows its result on reload
        page.reload()
        return bool(done.count())

    stack.wait_until(shown, what="the catch-up sync", tables=("sync_syncrun",), every=10)
    expect(done).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_count(0)

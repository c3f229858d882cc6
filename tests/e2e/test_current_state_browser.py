"""What an admin sees is the current state: the red dot leads to the broken integration, an issue Merge
resolved leaves the list at the relink, and a Merge outage says relinking cannot help, refuses it, and its
notice goes as soon as Merge answers again."""

import psycopg
import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack
from .test_causes_browser import Tenant, merge_then_skillibrium_sync, open_edit_view
from .test_relink_hris import sign_in

pytestmark = pytest.mark.browser

OUTAGE_POLL = "from skillibrium.integrations.tasks import poll_merge_status; poll_merge_status.call()"


def relink_in_merge_link(page: Page, tenant: Tenant, password: str) -> None:
    page.get_by_role("button", name="Relink Integration").click()
    link = page.frame_locator("iframe")
    link.get_by_label("Username").fill(tenant.username)
    link.get_by_label("Password").fill(password)
    link.get_by_role("button", name="Connect").click()


def test_a_broken_crms_dot_leads_to_it_and_its_resolved_issue_leaves_at_the_relink(
    stack: Stack, page: Page
) -> None:
    tenant = Tenant.of(stack, "crm")
    password = stack.control("POST", f"tenants/{tenant.id}/reset-password")["password"]
    merge_then_skillibrium_sync(stack)

    sign_in(page, stack)
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="My Org").locator(".dot")).to_have_count(0)  # the HRIS is fine
    page.get_by_label("Profile menu").click()
    expect(page.get_by_label("Profile menu").locator(".dot")).to_have_count(1)
    settings = page.get_by_role("link", name="Settings")
    expect(settings.locator(".dot")).to_have_count(1)
    settings.click()
    company = page.get_by_role("tab", name="Company Settings")
    expect(company.locator(".dot")).to_have_count(1)
    company.click()
    integrations = page.get_by_role("complementary").get_by_role("link", name="Integrations")
    expect(integrations.locator(".dot")).to_have_count(1)
    integrations.click()
    row = page.get_by_role("row").filter(has_text="Salesforce")
    expect(row).to_contain_text("Relink needed")  # where the dot led: the broken CRM

    row.get_by_label("Actions for Salesforce").click()
    row.get_by_role("link", name="Edit").click()
    issues = page.locator(".explanation", has_text="Open issues at Merge.dev")
    expect(issues).to_have_count(1)
    # Paused, no catch-up sync runs after the relink: what the page lists is what the relink itself learnt.
    page.get_by_label("More integration actions").click()
    page.get_by_role("button", name="Pause sync").click()
    relink_in_merge_link(page, tenant, password)
    expect(page.get_by_role("status").filter(has_text="re-linked")).to_be_visible()
    expect(issues).to_have_count(0)  # Merge resolved it with the relink
    page.get_by_label("More integration actions").click()
    page.get_by_role("button", name="Resume sync").click()
    expect(page.locator("[data-health]").first).not_to_have_attribute("data-health", "relink_needed")


def test_during_a_merge_outage_relinking_waits_and_the_notice_goes_when_merge_answers(
    stack: Stack, page: Page
) -> None:
    tenant = Tenant.of(stack, "hris")
    password = stack.control("POST", f"tenants/{tenant.id}/reset-password")["password"]
    merge_then_skillibrium_sync(stack)
    stack.control("POST", "outage", mode="503")
    try:
        stack.manage("shell", "-c", OUTAGE_POLL, MERGE_RETRY_ATTEMPTS="1")  # the fleet poll meets it

        sign_in(page, stack)
        broken = page.get_by_role("alert").filter(has_text="Workday")
        expect(broken).to_contain_text("Relinking cannot help until Merge.dev answers again.")
        expect(broken.get_by_role("link", name="Fix it now")).to_have_count(0)
        outage = page.locator("#merge-outage")
        expect(outage).to_contain_text("Merge.dev is not answering")
        expect(outage).not_to_contain_text("No action is needed")
        open_edit_view(page, "hris")
        expect(page.get_by_role("button", name="Relink Integration")).to_be_disabled()
        expect(page.locator("#merge-down")).to_contain_text("relinking cannot help yet")
        refused = page.evaluate(
            """async (url) => {
                const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
                const answer = await fetch(url, {method: "POST", headers: {"X-CSRFToken": csrf}});
                return [answer.status, (await answer.json()).error];
            }""",
            page.get_by_role("button", name="Relink Integration").get_attribute("data-start-url"),
        )
        assert refused[0] == 503 and "relinking cannot help yet" in refused[1]
    finally:
        stack.control("DELETE", "outage")

    # Merge answers the next question anyone asks it (here, Test connection): the notice goes at once.
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-test [data-verdict]")).to_have_attribute("data-verdict", "relink_needed")
    page.reload()
    expect(page.locator("#merge-outage")).to_have_count(0)
    expect(page.get_by_role("alert").filter(has_text="Workday")).to_contain_text("Fix it now")
    relink_in_merge_link(page, tenant, password)
    expect(page.get_by_role("status").filter(has_text="successfully linked")).to_be_visible()


def test_the_catch_up_carries_what_changed_and_syncs_that_find_nothing_fold(stack: Stack, page: Page) -> None:
    tenant = Tenant.of(stack, "hris")
    password = stack.control("POST", f"tenants/{tenant.id}/reset-password")["password"]
    merge_then_skillibrium_sync(stack)
    tenant.hire(stack, "Cat", "Chup")  # hired during the break
    runs = page.locator("#runs")
    catch_up = runs.locator("tr[data-run-trigger=relink][data-run-status=succeeded]")
    # Merge takes a while to read the provider again after the relink, as with a large tenant.
    stack.control("PUT", "config", sync_duration=10)
    try:
        sign_in(page, stack)
        open_edit_view(page, "hris")
        before = catch_up.count()  # an earlier test's relink has its own
        relink_in_merge_link(page, tenant, password)
        expect(page.get_by_role("status").filter(has_text="successfully linked")).to_be_visible()

        def caught_up() -> bool:
            page.reload()
            return catch_up.count() > before

        stack.wait_until(caught_up, what="the catch-up sync", tables=("sync_syncrun",), every=10)
    finally:
        stack.control("PUT", "config", sync_duration=0)
    # New people: the hire, in the catch-up itself (the newest row first).
    expect(catch_up.first.locator("td").nth(4)).to_have_text("1")

    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:

        def finished() -> int | None:
            """The HRIS's finished runs, while none is running."""
            found = conn.execute(
                "SELECT count(*) FILTER (WHERE r.status != 'running'),"
                " count(*) FILTER (WHERE r.status = 'running') FROM sync_syncrun r"
                " JOIN integrations_integration i ON i.id = r.integration_id WHERE i.category = 'hris'"
            ).fetchone()
            assert found is not None
            return None if found[1] else int(found[0])

        for _ in range(3):  # Merge syncs, finds nothing new, and says so by webhook: a run each
            stack.wait_until(lambda: finished() is not None, what="the HRIS's run", tables=("sync_syncrun",))
            done = finished() or 0
            stack.control("POST", "sync")
            stack.wait_until(
                lambda done=done: (finished() or 0) > done,  # type: ignore[misc]
                what="a webhook's sync",
                tables=("sync_syncrun",),
            )
    page.reload()
    rows = runs.locator("tbody tr")
    spell = rows.nth(0)  # the syncs since the catch-up, one row; the catch-up right below it
    expect(spell).to_have_attribute("data-run-fold", "")
    expect(spell).to_contain_text("syncs, no changes")
    assert int(spell.get_attribute("data-run-count") or 0) >= 3
    expect(rows.nth(1)).to_have_attribute("data-run-trigger", "relink")
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("1")

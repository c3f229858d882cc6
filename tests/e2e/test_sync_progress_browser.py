"""An admin relinks and watches the catch-up of a few thousand people on the Edit page: its counts grow
without a reload, then the run's summary, the health it ended in and its Recent syncs row appear."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENSHOTS, Stack, launch, relaunchable
from .test_relink_hris import break_connection, sign_in

pytestmark = pytest.mark.browser

PEOPLE = 3000
# Merge's pace, set in the sandbox: 50 records a page and 300 ms a request make the catch-up read 60 pages
# over at least 18 seconds however fast the machine, while the page polls every 2.
PAGE_SIZE_CAP, LATENCY_MS = 50, 300


def seed_thousands(stack: Stack) -> None:
    """The demo organization with an HRIS of a few thousand people, synced once; no invitations, whose mail
    would only keep the worker busy."""
    stack.manage("seed_demo", "--size", str(PEOPLE), "--crm", "")
    stack.manage(
        "shell",
        "-c",
        "from skillibrium.provisioning.models import ProvisioningPolicy as P;"
        "from skillibrium.accounts.models import Organization as O;"
        "[P.objects.update_or_create(organization=o, defaults={'send_invitations': False})"
        " for o in O.objects.all()]",
    )
    stack.manage("sync_account", "--all")


@pytest.fixture(scope="module")
def big_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Unpaced by the product, so that the sandbox alone sets the pace.
    start = lambda: launch(tmp_path_factory, seed=seed_thousands, MERGE_RATE_LIMIT_PER_MINUTE="0")  # noqa: E731
    with relaunchable(start) as stack:
        yield stack


def people_read(page: Page) -> int:
    return int(page.locator("#sync-live [data-count='people read'] dd").inner_text().replace(",", ""))


def test_the_catch_up_counts_grow_on_the_edit_page_then_its_summary(big_stack: Stack, page: Page) -> None:
    stack = big_stack
    credentials = break_connection(stack)
    stack.control("PUT", "faults", page_size_cap=PAGE_SIZE_CAP, latency_ms=LATENCY_MS)
    sign_in(page, stack)
    page.goto(f"{stack.web}/my-org/hris/")
    card = page.locator(".integration-card", has_text="Workday")
    card.get_by_label("Actions for Workday").click()
    card.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Relink Integration").click()
    link = page.frame_locator("iframe")
    link.get_by_label("Username").fill(credentials["username"])
    link.get_by_label("Password").fill(credentials["password"])
    link.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text("The integration has been successfully linked.")
    page.evaluate("window.notReloaded = true")  # gone if the page loads again

    live = page.locator("#sync-live")
    running = live.locator("[data-sync-progress=running]")
    counted = running.locator("[data-count='people read'] dd")
    expect(counted).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    first = people_read(page)
    expect(counted).to_have_text(re.compile(rf"^(?!{first:,}$)[1-9][\d,]*$"))
    second = people_read(page)
    expect(running).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "sync-progress.png"))  # what the admin sees: the top of the page
    assert first < second < PEOPLE

    # Webhooks Merge sent meanwhile ask for a follow-up: the page summarises it too, after the catch-up.
    ended = live.locator("[data-sync-progress=succeeded][data-run-trigger=relink]")
    expect(ended).to_contain_text("Sync finished")
    expect(ended.locator("[data-count='people read'] dd")).to_have_text(f"{PEOPLE:,}")
    expect(live.locator("[data-health]").first).to_have_attribute("data-health", "healthy")
    expect(live.locator("#runs tr[data-run-trigger=relink][data-run-status=succeeded]")).to_have_count(1)
    expect(live).not_to_have_attribute("hx-trigger", re.compile("every"))
    assert page.evaluate("window.notReloaded") is True


def test_sync_now_shows_its_outcome_without_a_reload(big_stack: Stack, page: Page) -> None:
    stack = big_stack
    sign_in(page, stack)
    page.goto(f"{stack.web}/my-org/hris/")
    card = page.locator(".integration-card", has_text="Workday")
    card.get_by_label("Actions for Workday").click()
    card.get_by_role("link", name="Edit").click()
    before = page.locator("#runs tr[data-run-trigger=admin]").count()

    page.get_by_role("button", name="Sync now").click()

    expect(page.get_by_role("status")).to_contain_text("A sync has been started. Its progress shows below")
    page.evaluate("window.notReloaded = true")
    done = page.locator("#runs tr[data-run-trigger=admin][data-run-status=succeeded]")
    expect(done).to_have_count(before + 1)
    expect(page.locator("#sync-live")).not_to_have_attribute("hx-trigger", re.compile("every"))
    assert page.evaluate("window.notReloaded") is True


def test_the_hris_settings_card_follows_a_full_read_to_its_end(big_stack: Stack, page: Page) -> None:
    stack = big_stack
    stack.control("PUT", "faults", page_size_cap=PAGE_SIZE_CAP, latency_ms=LATENCY_MS)
    stack.manage(  # the weekly full read is due: Sync now reads all 3,000 people again
        "shell",
        "-c",
        "from skillibrium.integrations.models import Integration as I;"
        "I.objects.update(last_full_read_at=None)",
    )
    sign_in(page, stack)
    page.goto(f"{stack.web}/my-org/hris/")
    card = page.locator(".integration-card", has_text="Workday")
    card.get_by_label("Actions for Workday").click()
    card.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_contain_text("A sync has been started.")

    page.locator(".crumbs").get_by_role("link", name="HRIS Settings").click()
    running = card.locator("[data-sync-progress=running] [data-count='people read'] dd")
    expect(running).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    page.evaluate("window.notReloaded = true")
    card.screenshot(path=str(SCREENSHOTS / "hris-card-sync-progress.png"))

    ended = card.locator("[data-sync-progress=succeeded][data-run-trigger=admin]")
    expect(ended.locator("[data-count='people read'] dd")).to_have_text(f"{PEOPLE:,}")
    expect(card.locator("[data-health]")).to_have_attribute("data-health", "healthy")
    card.get_by_label("Actions for Workday").click()  # its menu is not part of what refreshes
    expect(card.get_by_role("link", name="Edit")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

"""History at a glance in the browser: the Edit page's chart of the last 30 days and health strip, in the
organization's time zone, and All runs with its filters and pages."""

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot
from .test_relink_hris import sign_in

pytestmark = pytest.mark.browser

# A month of the demo HRIS's runs: hourly schedules, webhooks, a relink's catch-up after two failed days.
A_MONTH = """
import datetime as dt
import random
from django.utils import timezone
from skillibrium.integrations.models import Integration, IntegrationEvent
from skillibrium.sync.models import SyncRun

integration = Integration.objects.get(category="hris")
integration.organization.time_zone = "Europe/Berlin"
integration.organization.save(update_fields=["time_zone"])
Integration.objects.filter(pk=integration.pk).update(linked_at=timezone.now() - dt.timedelta(days=45))
rng = random.Random(7)
now = timezone.now()
runs = []
for day in range(1, 30):
    for n in range(rng.randint(2, 6)):
        start = now - dt.timedelta(days=day, hours=n * 3, minutes=rng.randint(0, 50))
        failed = day in (12, 13)
        runs.append(SyncRun(
            integration=integration, trigger=rng.choice(["schedule", "schedule", "webhook"]),
            status="failed" if failed else "succeeded", started_at=start,
            finished_at=start + dt.timedelta(seconds=rng.randint(8, 40) if not failed else 3),
            created=0 if failed else rng.randint(0, 3), updated=0 if failed else rng.randint(0, 12),
            deactivated=0 if failed else rng.choice([0, 0, 1]),
            error="Relink needed: the sync user's password was reset" if failed else "",
        ))
catch_up = now - dt.timedelta(days=11, hours=20)
runs.append(SyncRun(integration=integration, trigger="relink", status="succeeded", started_at=catch_up,
                    finished_at=catch_up + dt.timedelta(seconds=95), updated=41, deactivated=3))
SyncRun.objects.bulk_create(runs)
for at, before, after in [
    (now - dt.timedelta(days=13, hours=22), "healthy", "relink_needed"),
    (catch_up, "relink_needed", "catching_up"),
    (catch_up + dt.timedelta(seconds=95), "catching_up", "healthy"),
    (now - dt.timedelta(days=4, hours=6), "healthy", "degraded"),
    (now - dt.timedelta(days=4, hours=1), "degraded", "healthy"),
]:
    IntegrationEvent.objects.create(integration=integration, at=at, from_health=before, to_health=after)
"""


def test_the_edit_page_shows_the_month_and_all_runs_pages_and_filters(stack: Stack, page: Page) -> None:
    stack.manage("shell", "-c", A_MONTH)
    sign_in(page, stack)
    page.goto(f"{stack.web}/my-org/hris/")
    card = page.locator(".integration-card", has_text="Workday")
    card.get_by_label("Actions for Workday").click()
    card.get_by_role("link", name="Edit").click()

    history = page.locator("#history")
    expect(history.locator("#history-chart")).to_be_visible()
    expect(history.locator("#history-chart-summary")).to_contain_text("failed")
    expect(history.locator("#health-strip rect[data-health=relink_needed]")).to_have_count(1)
    expect(history).to_contain_text("Times in Europe/Berlin")
    expect(page.locator("#runs td").first).to_contain_text(" CET")
    history.scroll_into_view_if_needed()
    screenshot(page, "history")

    page.get_by_role("link", name="All runs").click()
    expect(page.get_by_role("heading", name="All runs")).to_be_visible()
    expect(page.locator("#run-history tbody tr")).to_have_count(25)
    page.get_by_role("link", name="Older").click()
    expect(page.get_by_role("link", name="Newer")).to_be_visible()
    page.get_by_label("Result").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#run-history tbody tr")
    expect(rows.first).to_have_attribute("data-run-status", "failed")
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.runStatus)")) == {"failed"}
    run = rows.first.get_attribute("data-run")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run}/$"))


def test_an_admin_changes_the_time_zone_and_the_pages_follow(stack: Stack, page: Page) -> None:
    sign_in(page, stack)
    page.goto(f"{stack.web}/settings/company/")
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()

    expect(page.get_by_text("Saved. Times are now shown in Asia/Tokyo.")).to_be_visible()
    expect(page.locator("#time-zone")).to_contain_text("JST")
    page.goto(f"{stack.web}/settings/company/audit/")
    expect(page.locator("table").get_by_text("organization.time_zone_changed")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text(" JST")

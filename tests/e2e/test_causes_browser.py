"""Every way the sandbox can break a connection, seen and repaired along the article's HRIS and CRM paths,
in a Sandbox and in a Production deployment. People hired and terminated during the break arrive with the
catch-up sync."""

import re
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack
from .test_relink_hris import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("stack", ["sandbox", "production"], indirect=True, scope="module"),
]

BREAKS = {
    "reset-password": "Password reset for the linked user account",
    "expire-credential": "Expired API or sync user credentials",
    "revoke-permission": "Missing permissions",
    "expire-mfa": "Expired multi-factor authentication",
}
PROVIDERS = {"hris": "workday", "crm": "salesforce"}
NAMES = {"hris": "Workday", "crm": "Salesforce"}


@dataclass
class Tenant:
    id: str
    username: str
    password: str
    category: str

    @classmethod
    def of(cls, stack: Stack, category: str) -> "Tenant":
        found = next(
            t for t in stack.control("GET", "tenants")["results"] if t["provider"] == PROVIDERS[category]
        )
        return cls(found["id"], found["username"], found["password"], category)

    def hire(self, stack: Stack, first: str, last: str) -> dict[str, Any]:
        email = f"{first}.{last}@people.example".lower()
        field = "work_email" if self.category == "hris" else "email"
        person: dict[str, Any] = stack.control(
            "POST", f"tenants/{self.id}/people", first_name=first, last_name=last, **{field: email}
        )
        return person


def accounts_free(stack: Stack, seconds: float = 120) -> None:
    """Wait until no sync holds an account. Asking while one does would queue it a follow-up run: during an
    outage each of those takes its retries' time, and asking again each time would keep the worker busy."""
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:

        def free() -> bool:
            held = conn.execute(
                "SELECT count(*) FROM integrations_integration WHERE sync_lease_until > now()"
            ).fetchone()
            return held is not None and not held[0]

        stack.wait_until(free, what="a sync kept an account", seconds=seconds)


def skillibrium_sync(stack: Stack, **env: str) -> None:
    """Skillibrium's sync of every integration, once the worker's own run (a webhook's, a catch-up) has let
    go of the account."""
    for _ in range(20):
        accounts_free(stack)
        if "another sync is running" not in stack.manage("sync_account", "--all", **env):
            return
    raise AssertionError("the worker kept taking the account first")


def merge_then_skillibrium_sync(stack: Stack) -> None:
    """Merge's periodic sync reads the provider, then Skillibrium's reads Merge."""
    stack.control("POST", "sync")
    skillibrium_sync(stack)


QUIET = """
SELECT (SELECT count(*) FROM integrations_integration WHERE sync_lease_until > now())
     + (SELECT count(*) FROM django_tasks_database_dbtaskresult
        WHERE status = 'RUNNING' OR (status = 'READY' AND run_after <= now()))
     + (SELECT count(*) FROM notifications_outboxemail WHERE status = 'pending' AND next_attempt_at <= now())
"""


def emails_once(stack: Stack, subject: str, *, before: list[str], seconds: float = 120) -> int:
    """How many more emails with this subject were sent than `before` had, once the product is quiet: no sync
    running, no task due, no email waiting to go. A second alert would have been written by then."""
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:

        def quiet() -> bool:
            busy = conn.execute(QUIET).fetchone()
            return busy is not None and not busy[0]

        stack.wait_until(quiet, what="the product was still busy", seconds=seconds)
    return stack.subjects().count(subject) - before.count(subject)


def open_edit_view(page: Page, category: str) -> None:
    """The article's path to the integration's Edit view, for an HRIS or a CRM."""
    name = NAMES[category]
    menu = page.get_by_role("navigation", name="Main menu")
    if category == "hris":
        menu.get_by_role("link", name="My Org").click()
        page.get_by_label("More actions").click()
        page.get_by_role("link", name="Manage HRIS Settings").click()
        holder = page.locator(".integration-card", has_text=name)
    else:
        page.get_by_label("Profile menu").click()
        page.get_by_role("link", name="Settings").click()
        page.get_by_role("tab", name="Company Settings").click()
        page.get_by_role("complementary").get_by_role("link", name="Integrations").click()
        holder = page.get_by_role("row").filter(has_text=name)
    holder.get_by_label(f"Actions for {name}").click()
    holder.get_by_role("link", name="Edit").click()


def wait_for(page: Page, stack: Stack, url: str, tables: tuple[str, ...], selector: str, *texts: str) -> None:
    """The page at `url` shows every text in `selector` once the catch-up sync (and Merge's) applied it:
    loaded again each time the product writes to one of the `tables` it shows."""
    found = page.locator(selector)

    def shown() -> bool:
        page.goto(url)
        return bool(found.count()) and all(text in found.first.inner_text() for text in texts)

    stack.wait_until(shown, what=f"{url} showing {texts}", tables=tables, every=10)
    for text in texts:
        expect(found.first).to_contain_text(text)


@pytest.mark.parametrize("category", ["hris", "crm"])
@pytest.mark.parametrize("how", list(BREAKS))
def test_each_break_is_named_then_relinked_and_caught_up(
    stack: Stack, page: Page, category: str, how: str
) -> None:
    environment = stack.env["SKILLIBRIUM_ENVIRONMENT"]
    tenant = Tenant.of(stack, category)
    tag = f"{how.split('-')[1].capitalize()}{category.upper()}{environment.capitalize()}"
    leaver = tenant.hire(stack, "Lee", f"Leaver{tag}")
    merge_then_skillibrium_sync(stack)  # the leaver is provisioned while all is well

    sent = stack.subjects()
    broken = stack.control("POST", f"tenants/{tenant.id}/{how}")
    password = broken.get("password") or tenant.password
    joiner = tenant.hire(stack, "Jo", f"Joiner{tag}")
    stack.control("POST", f"tenants/{tenant.id}/people/{leaver['remote_id']}/terminate")
    merge_then_skillibrium_sync(stack)
    prefix = "[Sandbox] " if environment == "sandbox" else ""
    alert = f"{prefix}Action required: relink your {NAMES[category]} integration"
    assert emails_once(stack, alert, before=sent) == 1

    sign_in(page, stack)
    expect(page.locator(".env-strip")).to_have_attribute("data-environment", environment)
    expect(page.get_by_role("alert").filter(has_text=NAMES[category])).to_contain_text("Relink needed")
    open_edit_view(page, category)
    expect(page.locator(".cause")).to_have_text(BREAKS[how])
    expect(page.locator("[data-health]").first).to_have_attribute("data-health", "relink_needed")
    if how == "revoke-permission":  # the provider's admin grants the permission back before relinking
        stack.control("POST", f"tenants/{tenant.id}/grant-permission")
    page.get_by_role("button", name="Relink Integration").click()
    link = page.frame_locator("iframe")
    link.get_by_label("Username").fill(tenant.username)
    link.get_by_label("Password").fill(password)
    link.get_by_role("button", name="Connect").click()

    confirmation = "successfully linked" if category == "hris" else "successfully re-linked"
    expect(page.get_by_role("status")).to_contain_text(re.compile(confirmation))
    people, shown = f"{stack.web}/my-org/?q=", ("directory_person", "accounts_user")
    for person, status in ((joiner, "Active"), (leaver, "Inactive")):
        name = person["last_name"]
        wait_for(page, stack, people + name, shown, "#people tbody tr", name, status)
    email = f"lee.leaver{tag}@people.example".lower()  # and the leaver's user is deactivated
    audit = f"{stack.web}/settings/company/audit/?action=user.deactivated&q={email}"
    wait_for(page, stack, audit, ("core_auditentry",), "#audit", email)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_provider_outage_heals_by_itself(stack: Stack, page: Page) -> None:
    tenant = Tenant.of(stack, "hris")
    stack.control("POST", f"tenants/{tenant.id}/offline")
    merge_then_skillibrium_sync(stack)

    sign_in(page, stack)
    open_edit_view(page, "hris")
    expect(page.locator(".cause")).to_have_text("Provider outage")
    expect(page.locator("[data-health]").first).to_have_attribute("data-health", "degraded")
    expect(page.get_by_role("alert").filter(has_text="Relink needed")).to_have_count(0)

    stack.control("POST", f"tenants/{tenant.id}/online")
    merge_then_skillibrium_sync(stack)  # the scheduled retry; no one does anything
    page.reload()
    expect(page.locator("[data-health]").first).to_have_attribute("data-health", "healthy")


def test_merge_outage_heals_by_itself(stack: Stack, page: Page) -> None:
    # What the scheduler runs every few minutes: the fleet's status poll.
    poll = "from skillibrium.integrations.tasks import poll_merge_status; poll_merge_status.call()"
    emails_before = stack.subjects()
    stack.control("POST", "outage", mode="503")
    try:
        skillibrium_sync(stack, MERGE_RETRY_ATTEMPTS="1")
        stack.manage("shell", "-c", poll, MERGE_RETRY_ATTEMPTS="1")
        sign_in(page, stack)
        open_edit_view(page, "crm")
        expect(page.locator(".cause")).to_have_text("Merge.dev platform outage")
        expect(page.locator("[data-health]").first).to_have_attribute("data-health", "degraded")
        expect(page.get_by_role("alert").filter(has_text="Relink needed")).to_have_count(0)
    finally:
        stack.control("DELETE", "outage")
    stack.manage("shell", "-c", poll)  # Merge answers again: the retries are queued, the worker runs them
    health = page.locator("[data-health]").first

    def healthy() -> bool:
        page.reload()
        return health.get_attribute("data-health") == "healthy"

    stack.wait_until(healthy, what="the CRM healthy again", tables=("integrations_integration",), every=10)
    expect(health).to_have_attribute("data-health", "healthy")
    alerts = [s for s in stack.subjects() if "Action required" in s]
    assert sorted(alerts) == sorted(s for s in emails_before if "Action required" in s)  # no relink email

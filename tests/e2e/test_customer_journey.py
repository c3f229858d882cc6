"""A customer's life from nothing: Globex is created, its admin connects BambooHR, reviews and confirms the
first sync (users created and invited), disconnects (nobody deactivated or emailed), connects HiBob holding
the same people and confirms its review, then replaces HiBob with Workday from the Edit page: the switch is
reviewed (matched, only in the old source) and confirmed, and nobody is duplicated, deactivated or emailed."""

import json

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot, sign_in

pytestmark = pytest.mark.browser

STAFF_EMAIL = "support@skillibrium.example"
STAFF_PASSWORD = "staff-passphrase-for-tests"
ADMIN_EMAIL = "hana@globex.example"
ADMIN_PASSWORD = "globex-admin-passphrase"
PEOPLE = 8
DOMAIN = "globex.example"

USERS = """
import json
from skillibrium.accounts.models import Membership
members = Membership.objects.filter(organization__name="Globex").select_related("user")
print(json.dumps({m.user.email.lower(): m.user.is_active for m in members}))
"""


RUNS = """
from skillibrium.directory.models import Person
from skillibrium.sync.models import SyncRun
runs = SyncRun.objects.filter(integration__organization__name="Globex", status="succeeded")
print(runs.count(), Person.objects.filter(organization__name="Globex").count())
"""


def globex_runs_and_people(stack: Stack) -> tuple[int, int]:
    """How many syncs of Globex succeeded, and how many people its directory holds."""
    runs, people = stack.manage("shell", "-c", RUNS).strip().splitlines()[-1].split()
    return int(runs), int(people)


def globex_users(stack: Stack) -> dict[str, bool]:
    """Every Globex user's email and whether they are active, read from the database."""
    return json.loads(stack.manage("shell", "-c", USERS).strip().splitlines()[-1])


def accept_first_admin(stack: Stack, page: Page) -> None:
    assert stack.smtp is not None
    stack.make_staff(STAFF_EMAIL, STAFF_PASSWORD)
    sign_in(page, stack, STAFF_EMAIL, STAFF_PASSWORD)
    page.get_by_role("link", name="Create organization").click()
    page.get_by_label("Organization name").fill("Globex")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Environment").select_option("sandbox")
    page.get_by_label("First admin's email").fill(ADMIN_EMAIL)
    page.get_by_label("First admin's first name").fill("Hana")
    page.get_by_label("First admin's last name").fill("Ito")
    page.get_by_role("button", name="Create and invite").click()
    expect(page.get_by_text(f"an invitation was sent to {ADMIN_EMAIL}")).to_be_visible()
    page.context.clear_cookies()
    page.goto(stack.smtp.link(stack.smtp.wait_for(to=ADMIN_EMAIL, subject="invited"), "/invitations/"))
    page.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("New password confirmation").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(f"{stack.web}/my-org/**")


def open_hris_settings(page: Page) -> None:
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My Org").click()
    page.get_by_label("More actions").click()
    page.get_by_role("link", name="Manage HRIS Settings").click()


def connect(page: Page, tenant: dict[str, str], provider: str, *, shot: str = "") -> None:
    """Connect HRIS, pick `provider` in Merge Link and sign in with the tenant's integration user."""
    page.locator("#connect-hris").click()
    link = page.frame_locator("iframe")
    expect(link.get_by_role("button", name=provider)).to_be_visible()
    if shot:
        screenshot(page, shot)
    link.get_by_role("button", name=provider).click()
    link.get_by_label("Tenant").fill(tenant["subdomain"])
    link.get_by_label("Username").fill(tenant["username"])
    link.get_by_label("Password").fill(tenant["password"])
    link.get_by_role("button", name="Connect").click()


def review(page: Page, provider: str) -> None:
    """Open the card's review; the first sync reads in the worker, the summary shows once it is read."""
    card = page.locator(".integration-card", has_text=provider)
    card.get_by_role("link", name="Review the first sync").click()
    counts = page.locator("#review-counts")
    for _ in range(60):
        if counts.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(counts).to_be_visible()


def test_globex_connects_bamboohr_then_switches_to_hibob(bare_stack: Stack, page: Page) -> None:
    stack = bare_stack
    assert stack.smtp is not None
    bamboo = stack.control(
        "POST", "tenants", provider="bamboohr", name="Globex", size=PEOPLE, seed=12, domain=DOMAIN
    )
    accept_first_admin(stack, page)

    open_hris_settings(page)
    connect(page, bamboo, "BambooHR", shot="connect")
    review(page, "BambooHR")
    counts = page.locator("#review-counts")
    expect(counts.locator("div", has_text="people found").locator("strong")).to_have_text(str(PEOPLE))
    expect(counts.locator("div", has_text="users to create").locator("strong")).to_have_text(str(PEOPLE))
    to_create = page.locator(".review-list").first.locator("li").all_inner_texts()
    assert len(to_create) == PEOPLE and all(DOMAIN in item for item in to_create)
    screenshot(page, "journey-first-sync-review")
    before_confirm = len(stack.smtp.messages)
    page.get_by_label("Send invitations to the new users").check()
    page.get_by_role("button", name="Confirm and provision").click()

    emails = [item.split()[-1].strip("()<>").lower() for item in to_create]
    for email in emails:  # the worker provisions, then sends each new user an invitation
        invitation = stack.smtp.wait_for(to=email, subject="invited", after=before_confirm)
        assert "/invitations/" in stack.smtp.text(invitation)
    users = globex_users(stack)
    assert sorted(users) == sorted([ADMIN_EMAIL, *emails]) and all(users.values())

    open_hris_settings(page)
    card = page.locator(".integration-card", has_text="BambooHR")
    card.get_by_label("Actions for BambooHR").click()
    card.get_by_role("link", name="Edit").click()
    page.get_by_label("Type “BambooHR” to confirm").fill("BambooHR")
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#disconnect")).to_be_visible()
    after_disconnect = len(stack.smtp.messages)
    assert globex_users(stack) == users

    hibob = stack.control(
        "POST", "tenants", provider="hibob", name="Globex HiBob", size=PEOPLE, seed=12, domain=DOMAIN
    )
    open_hris_settings(page)
    connect(page, hibob, "HiBob")
    review(page, "HiBob")
    # The same people, read from the new vendor: nobody new, nobody twice.
    expect(counts.locator("div", has_text="people found").locator("strong")).to_have_text(str(PEOPLE))
    expect(counts.locator("div", has_text="users to create").locator("strong")).to_have_text("0")
    matched = counts.locator("div", has_text="existing users matched").locator("strong")
    expect(matched).to_have_text(str(PEOPLE))  # already users: linked to their records before the switch
    expect(page.locator("#matched-already-linked")).to_contain_text(
        f"Already linked to their record ({PEOPLE})"
    )
    page.get_by_role("button", name="Confirm and provision").click()
    expect(page.get_by_role("status")).to_be_visible()

    # Disconnecting and reading the new vendor emailed nobody and left every user as they were.
    assert globex_users(stack) == users
    assert [str(m["Subject"]) for m in stack.smtp.messages[after_disconnect:]] == []

    # Replace HiBob with Workday, where one person is missing: reviewed beside HiBob, then confirmed.
    workday = stack.control(
        "POST", "tenants", provider="workday", name="Globex Workday", size=PEOPLE, seed=12, domain=DOMAIN
    )
    missing = stack.control("GET", f"tenants/{workday['id']}/people?limit=1")["results"][0]
    stack.control("DELETE", f"tenants/{workday['id']}/people/{missing['remote_id']}")
    open_hris_settings(page)
    card = page.locator(".integration-card", has_text="HiBob")
    card.get_by_label("Actions for HiBob").click()
    card.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Replace with another HRIS").click()
    link = page.frame_locator("iframe")
    link.get_by_role("button", name="Workday").click()
    link.get_by_label("Tenant").fill(workday["subdomain"])
    link.get_by_label("Username").fill(workday["username"])
    link.get_by_label("Password").fill(workday["password"])
    link.get_by_role("button", name="Connect").click()
    switch = page.locator("#switch-counts")  # the page updates itself once the worker has read Workday
    expect(switch).to_be_visible(timeout=60_000)
    expect(switch.locator("div", has_text="matched to your people").locator("strong")).to_have_text(
        str(PEOPLE - 1)
    )
    expect(switch.locator("div", has_text="only in HiBob").locator("strong")).to_have_text("1")
    expect(page.locator("#switch-review")).to_contain_text(missing["work_email"])
    screenshot(page, "vendor-switch-review")
    runs_before, _ = globex_runs_and_people(stack)
    page.get_by_role("button", name="Confirm the switch").click()
    expect(page.get_by_text("Switched from HiBob to Workday")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Workday")

    for _ in range(120):  # Workday's first sync, in the worker
        runs, people = globex_runs_and_people(stack)
        if runs > runs_before:
            break
        page.wait_for_timeout(500)
    assert (runs, people) == (runs_before + 1, PEOPLE)
    assert globex_users(stack) == users
    assert [str(m["Subject"]) for m in stack.smtp.messages[after_disconnect:]] == []

"""A new customer's CRM, along the menus: Initech's admin signs up, connects Salesforce from Company
Integrations, reviews and confirms the first sync (users created and invited), disconnects (nobody
deactivated or emailed) and connects HubSpot, holding the same people, whose review finds them all as the
users they already are."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot, sign_in

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "bill@initech.example"
ADMIN_PASSWORD = "initech-admin-passphrase"
DOMAIN = "initech.example"
SAME_PEOPLE = {"size": 10, "seed": 12, "domain": DOMAIN}  # one of the ten is an inactive CRM user

DIRECTORY = """
import json
import re
from skillibrium.accounts.models import Membership
from skillibrium.directory.models import Person
members = Membership.objects.filter(organization__name="Initech").select_related("user")
people = Person.objects.filter(organization__name="Initech")
print(json.dumps({
    "users": {m.user.email.lower(): m.user.is_active for m in members},
    "people": sorted(people.values_list("work_email", flat=True)),
    "linked": {p.work_email: p.user.email.lower() for p in people.select_related("user") if p.user},
}))
"""

# Until the worker has nothing left to run (no task ready or running), with `PASSES` provisioning passes done.
WORKER_IDLE = """
import datetime as dt, os, time
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
tasks = DBTaskResult.objects.all()
passes = tasks.successful().filter(task_path__endswith=".provision_everyone")
deadline = timezone.now() + dt.timedelta(seconds=60)
while tasks.ready().exists() or tasks.running().exists() or passes.count() < int(os.environ["PASSES"]):
    assert timezone.now() < deadline, list(tasks.values_list("task_path", "status"))
    time.sleep(0.2)
"""


def initech(stack: Stack) -> dict[str, object]:
    """Initech's users (email: active), its people's work emails, and whose user each person's is."""
    return dict(json.loads(stack.manage("shell", "-c", DIRECTORY).strip().splitlines()[-1]))


def wait_for_worker(stack: Stack, *, passes: int) -> None:
    """Until the worker has run `passes` provisioning passes (a confirmed review queues one) and every task
    they queued (invitations, any other email): what the pass did, and sent, is all there."""
    stack.manage("shell", "-c", WORKER_IDLE, PASSES=str(passes))


def sign_up(stack: Stack, page: Page) -> None:
    """Initech's admin creates the organization from the sign-in page and verifies their email."""
    assert stack.smtp is not None
    page.goto(f"{stack.web}/accounts/login/")
    page.get_by_role("link", name="Create your organization").click()
    page.get_by_label("Organization name").fill("Initech")
    page.get_by_label("Your first name").fill("Bill")
    page.get_by_label("Your last name").fill("Lumbergh")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    page.goto(
        stack.smtp.link(stack.smtp.wait_for(to=ADMIN_EMAIL, subject="Confirm"), "/accounts/confirm-email/")
    )
    page.get_by_role("button", name="Confirm").click()
    sign_in(page, stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.wait_for_url(f"{stack.web}/my-org/**")


def open_company_settings(page: Page, panel: str) -> None:
    """Profile menu (top right) → Settings → the Company Settings tab → `panel` in the right panel."""
    page.get_by_label("Profile menu").click()
    page.get_by_role("banner").get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("tab", name="Company Settings").click()
    page.get_by_role("complementary").get_by_role("link", name=panel).click()


def connect_crm(page: Page, tenant: dict[str, str], provider: str) -> None:
    """Company Integrations → Connect CRM, pick `provider` in Merge Link, sign in with its sync user."""
    open_company_settings(page, "Integrations")
    expect(page.get_by_role("heading", name="Company Integrations")).to_be_visible()
    page.get_by_role("button", name="Connect CRM").click()
    link = page.frame_locator("iframe")
    link.get_by_role("button", name=provider).click()
    link.get_by_label("Tenant").fill(tenant["subdomain"])
    link.get_by_label("Username").fill(tenant["username"])
    link.get_by_label("Password").fill(tenant["password"])
    link.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text=f"{provider} is connected.")).to_be_visible()


def review(page: Page, provider: str) -> None:
    """The row's review call; the first sync reads in the worker, the summary shows once it is read."""
    row = page.get_by_role("row").filter(has_text=provider)
    row.get_by_role("link", name="Review the first sync").click()
    counts = page.locator("#review-counts")
    for _ in range(60):
        if counts.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(counts).to_be_visible()


def counts(page: Page) -> tuple[str, ...]:
    """The review's people found, users to create and existing users matched."""
    shown = page.locator("#review-counts")
    labels = ("people found", "users to create", "existing users matched")
    return tuple(shown.locator("div", has_text=label).locator("strong").inner_text() for label in labels)


def confirm(page: Page, *, new_users: bool = True) -> None:
    """With nobody to create, the review neither offers invitations nor claims to send them."""
    invitations = page.get_by_label("Send invitations to the new users")
    if new_users:
        expect(invitations).to_be_checked()
    else:
        expect(invitations).to_have_count(0)
    page.get_by_role("button", name="Confirm and provision").click()
    confirmed = page.get_by_role("status").filter(has_text="Confirmed. Your people are being provisioned")
    expect(confirmed).to_be_visible()


def check_people_page(page: Page, invited: list[str]) -> None:
    """Company Settings > People: the admin who signed up, and the CRM's users, invited."""
    open_company_settings(page, "People")
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(len(invited) + 1)
    for email in invited:
        expect(rows.filter(has_text=email)).to_contain_text(re.compile(r"Invited\s+CRM\s+Member"))
    expect(rows.filter(has_text=ADMIN_EMAIL)).to_contain_text(re.compile(r"Active\s+Added by hand\s+Admin"))
    screenshot(page, "people")


def disconnect(page: Page, provider: str) -> None:
    """Company Integrations → ⋮ in the Actions column → Edit → More → Disconnect…, confirmed by name."""
    open_company_settings(page, "Integrations")
    row = page.get_by_role("row").filter(has_text=provider)
    row.get_by_label(f"Actions for {provider}").click()
    row.get_by_role("link", name="Edit").click()
    page.get_by_label("More integration actions").click()
    page.get_by_role("link", name="Disconnect…").click()
    page.get_by_label(f"Type “{provider}” to confirm").fill(provider)
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#disconnect [data-disconnected]")).to_contain_text("Disconnected by Bill Lumbergh")
    open_company_settings(page, "Integrations")
    expect(row).to_contain_text("Disconnected by Bill Lumbergh")


def test_initech_connects_salesforce_then_switches_to_hubspot(bare_stack: Stack, page: Page) -> None:
    stack = bare_stack
    assert stack.smtp is not None
    salesforce = stack.control("POST", "tenants", provider="salesforce", name="Initech", **SAME_PEOPLE)
    source = stack.control("GET", f"tenants/{salesforce['id']}/people")["results"]
    records = sorted(p["email"] for p in source)
    active = sorted(p["email"] for p in source if p["active"] and not p["deleted"])
    assert 0 < len(active) < len(records)  # an inactive CRM user gets no Skillibrium user
    sign_up(stack, page)

    connect_crm(page, salesforce, "Salesforce")
    expect(page.get_by_role("row").filter(has_text="Salesforce")).to_contain_text(
        "First sync waiting for review"
    )
    review(page, "Salesforce")
    expect(page.locator(".crumbs")).to_contain_text("Company Settings")
    assert counts(page) == (str(len(records)), str(len(active)), "0")
    assert sorted(page.locator(".review-list").first.locator("li").all_inner_texts()) == active
    before_confirm = len(stack.smtp.messages)
    confirm(page)
    for email in active:  # the worker provisions, then sends each new user an invitation
        invitation = stack.smtp.wait_for(to=email, subject="invited", after=before_confirm)
        assert "/invitations/" in stack.smtp.text(invitation)
    wait_for_worker(stack, passes=1)
    provisioned = initech(stack)
    assert provisioned["users"] == {ADMIN_EMAIL: True} | dict.fromkeys(active, True)
    assert (provisioned["people"], provisioned["linked"]) == (records, {email: email for email in active})
    check_people_page(page, active)

    before_disconnect = len(stack.smtp.messages)
    disconnect(page, "Salesforce")
    assert initech(stack) == provisioned

    hubspot = stack.control("POST", "tenants", provider="hubspot", name="Initech HubSpot", **SAME_PEOPLE)
    same = stack.control("GET", f"tenants/{hubspot['id']}/people")["results"]
    assert sorted((p["email"], p["active"]) for p in same) == sorted(
        (p["email"], p["active"]) for p in source
    )
    connect_crm(page, hubspot, "HubSpot")
    review(page, "HubSpot")
    # The same people, read from the new vendor: each found as the user they already are, nobody new.
    assert counts(page) == (str(len(records)), "0", str(len(active)))
    already = page.locator("#matched-already-linked")
    expect(already).to_contain_text(f"Already linked to their record ({len(active)})")
    assert sorted(already.locator("li").all_inner_texts()) == active
    expect(page.locator("#matched-by-email")).to_contain_text("Found by work email (0)")
    confirm(page, new_users=False)
    wait_for_worker(stack, passes=2)

    # Disconnecting and connecting another vendor duplicated nobody, deactivated nobody and emailed nobody.
    assert initech(stack) == provisioned
    assert [str(m["Subject"]) for m in stack.smtp.messages[before_disconnect:]] == []

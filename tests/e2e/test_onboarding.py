"""A customer from nothing: staff create the organization, its first admin accepts the emailed invitation."""

from playwright.sync_api import Page, expect

from .conftest import Stack, screenshot, sign_in

STAFF_EMAIL = "support@skillibrium.example"
STAFF_PASSWORD = "staff-passphrase-for-tests"
ADMIN_EMAIL = "hana@globex.example"
ADMIN_PASSWORD = "globex-admin-passphrase"


def test_staff_create_globex_and_its_admin_accepts_the_invitation(bare_stack: Stack, page: Page) -> None:
    stack = bare_stack
    assert stack.smtp is not None
    stack.make_staff(STAFF_EMAIL, STAFF_PASSWORD)

    sign_in(page, stack, STAFF_EMAIL, STAFF_PASSWORD)
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    page.get_by_role("link", name="Create organization").click()
    page.get_by_label("Organization name").fill("Globex")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Environment").select_option("sandbox")
    page.get_by_label("First admin's email").fill(ADMIN_EMAIL)
    page.get_by_label("First admin's first name").fill("Hana")
    page.get_by_label("First admin's last name").fill("Ito")
    screenshot(page, "staff-create-organization")
    page.get_by_role("button", name="Create and invite").click()
    expect(page.get_by_text(f"an invitation was sent to {ADMIN_EMAIL}")).to_be_visible()
    page.context.clear_cookies()

    mail = stack.smtp.wait_for(to=ADMIN_EMAIL, subject="invited")
    assert "Globex" in str(mail["Subject"])
    link = stack.smtp.link(mail, "/invitations/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Globex")).to_be_visible()
    expect(page.get_by_text(ADMIN_EMAIL)).to_be_visible()
    page.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("New password confirmation").fill(ADMIN_PASSWORD)
    screenshot(page, "invitation-accept")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(f"{stack.web}/my-org/**")
    expect(page.locator(".menu-caption")).to_have_text("Globex · Admin")
    screenshot(page, "invited-admin-my-org")

    # The link worked once; the password it set is the admin's from now on.
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation was already used")).to_be_visible()
    page.context.clear_cookies()
    sign_in(page, stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.wait_for_url(f"{stack.web}/my-org/**")


def test_someone_signs_up_verifies_their_email_and_runs_a_new_organization(
    bare_stack: Stack, page: Page
) -> None:
    stack = bare_stack
    assert stack.smtp is not None
    email, password = "bill@initrode.example", "initrode-admin-passphrase"
    page.context.clear_cookies()
    page.goto(f"{stack.web}/accounts/login/")
    page.get_by_role("link", name="Create your organization").click()
    page.get_by_label("Organization name").fill("Initrode")
    page.get_by_label("Your first name").fill("Bill")
    page.get_by_label("Your last name").fill("Lumbergh")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    screenshot(page, "self-signup")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    mail = stack.smtp.wait_for(to=email, subject="Confirm")
    page.goto(stack.smtp.link(mail, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    sign_in(page, stack, email, password)
    page.wait_for_url(f"{stack.web}/my-org/**")
    expect(page.locator(".menu-caption")).to_have_text("Initrode · Admin")

    # Initrode has the domain now: a colleague signing up is sent to Initrode's admin, nothing is created.
    page.context.clear_cookies()
    page.goto(f"{stack.web}/accounts/signup/")
    page.get_by_label("Organization name").fill("Initrode Two")
    page.get_by_label("Your first name").fill("Milton")
    page.get_by_label("Email").fill("milton@initrode.example")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_text("Ask an admin of Initrode to invite you.")).to_be_visible()

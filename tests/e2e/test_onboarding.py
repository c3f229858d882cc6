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

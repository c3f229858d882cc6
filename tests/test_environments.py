"""A Sandbox deployment never passes for Production: the strip on every page, the page title and the subject
of every email say which one it is."""

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role

from .factories import make_org, make_user
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db

SEEN = {
    "sandbox": (
        "<title>My Org · Skillibrium Sandbox</title>",
        '<body class="env-sandbox">',
        "Sandbox environment: test data and test connections",
        "[Sandbox] ",
    ),
    "production": ("<title>My Org · Skillibrium</title>", '<body class="env-production">', "Production", ""),
}


@pytest.mark.parametrize("environment", list(SEEN))
def test_pages_show_the_environment_in_the_strip_and_the_title(settings: Settings, environment: str) -> None:
    settings.ENVIRONMENT = environment
    title, body, strip, _ = SEEN[environment]
    client = Client()
    client.force_login(make_user(make_org(), role=Role.ADMIN))

    page = client.get(reverse("directory:my_org")).content.decode()

    assert title in page and body in page
    assert f'<div class="env-strip" data-environment="{environment}">\n    {strip}\n  </div>' in page


@pytest.mark.parametrize("environment", list(SEEN))
def test_sign_in_emails_carry_the_environment_in_the_subject(settings: Settings, environment: str) -> None:
    settings.ENVIRONMENT = environment
    user = make_user(make_org())

    Client().post(reverse("account_reset_password"), {"email": user.email})

    assert [m.subject for m in sent_mail()] == [f"{SEEN[environment][3]}Password Reset Email"]

"""Self sign-up: a new organization whose admin is the person who signed up, once their email is verified;
never a way into, or beside, an organization that already has the domain."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Organization, Role, SignUp, User
from skillibrium.core.models import AuditEntry

from .factories import make_org, make_sso, make_user
from .mailbox import clear_mail, sent_mail

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")
PASSWORD = "a-long-and-unusual-passphrase"
FORM = {
    "organization_name": "Initrode",
    "first_name": "Bill",
    "last_name": "Lumbergh",
    "email": "bill@initrode.example",
    "password1": PASSWORD,
}


@pytest.fixture(autouse=True)
def open_signup(settings: Settings) -> None:
    settings.SELF_SIGNUP = True


def confirmation_path() -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", str(sent_mail()[-1].body))
    assert found, sent_mail()[-1].body
    return found.group(1)


def sign_in(client: Client, email: str = FORM["email"]) -> object:
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def test_sign_up_verify_and_sign_in_as_the_new_organizations_admin() -> None:
    client = Client()
    assert b"Create your organization" in client.get(reverse("account_login")).content
    response = client.post(SIGNUP, FORM)
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    assert not Organization.objects.filter(name="Initrode").exists()
    assert client.get(reverse("directory:my_org")).status_code == 302  # not signed in
    assert sent_mail()[-1].to == [FORM["email"]]

    path = confirmation_path()
    assert client.get(path).status_code == 200
    client.post(path)
    user = User.objects.get(email=FORM["email"])
    assert user.membership.organization.name == "Initrode" and user.membership.role == Role.ADMIN
    assert user.first_name == "Bill" and not SignUp.objects.exists()
    assert AuditEntry.objects.filter(organization=user.membership.organization, action="organization.created")

    assert sign_in(client).status_code == 302  # type: ignore[attr-defined]
    assert client.get(reverse("directory:my_org")).status_code == 200


def test_signing_in_before_verifying_sends_the_link_again_and_signs_in_no_one() -> None:
    Client().post(SIGNUP, FORM)
    clear_mail()
    client = Client()
    response = sign_in(client)
    assert response["Location"] == reverse("account_email_verification_sent")  # type: ignore[index]
    assert client.get(reverse("directory:my_org")).status_code == 302
    assert sent_mail()[-1].to == [FORM["email"]]
    assert not Organization.objects.filter(name="Initrode").exists()


@pytest.mark.parametrize("claim", ["people", "sso"])
def test_a_domain_an_organization_has_is_refused_and_nothing_is_created(claim: str) -> None:
    initech = make_org("Initech")
    if claim == "people":
        make_user(initech, email="peter@initrode.example")
    else:
        make_sso(initech, protocol="oidc", domains=("initrode.example",))
    users = User.objects.count()

    response = Client().post(SIGNUP, FORM | {"email": "Bill@Initrode.example"})
    assert response.status_code == 200
    assert "belongs to Initech" in response.content.decode()
    assert "Ask an admin of Initech to invite you" in response.content.decode()
    assert User.objects.count() == users and not Organization.objects.filter(name="Initrode").exists()


def test_a_public_mail_domain_is_no_ones() -> None:
    make_user(make_org("Initech"), email="peter@gmail.com")
    response = Client().post(SIGNUP, FORM | {"email": "bill@gmail.com"})
    assert response.status_code == 302
    assert User.objects.filter(email="bill@gmail.com").exists()


def test_with_self_signup_off_there_is_no_sign_up(settings: Settings) -> None:
    settings.SELF_SIGNUP = False
    assert Client().get(SIGNUP).status_code == 404
    assert Client().post(SIGNUP, FORM).status_code == 404
    assert not User.objects.exists()
    assert b"Create your organization" not in Client().get(reverse("account_login")).content


def test_self_signup_is_off_in_production_unless_asked() -> None:
    import subprocess
    import sys

    probe = "from django.conf import settings; print(settings.SELF_SIGNUP)"
    code = f"import django, os; django.setup(); {probe}"
    for environment, expected in (("production", "False"), ("sandbox", "True")):
        env = {
            "DJANGO_SETTINGS_MODULE": "skillibrium.settings",
            "SKILLIBRIUM_ENVIRONMENT": environment,
            "SKILLIBRIUM_SECRET_KEY": "x" * 50,
            "PATH": "/usr/bin:/bin",
        }
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        assert out.stdout.strip() == expected, out.stderr

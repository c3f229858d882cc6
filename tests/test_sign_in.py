"""Password sign-in: lockout, password reset by email, deactivation, SSO-only organizations, admin TOTP."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from skillibrium.accounts.models import Role, User
from skillibrium.core import crypto

from .factories import PASSWORD, make_org, make_sso, make_user
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")


def sign_in(client: Client, email: str, password: str = PASSWORD) -> str:
    response = client.post(LOGIN, {"login": email, "password": password})
    return response.headers.get("Location", "") if response.status_code == 302 else response.content.decode()


def signed_in_as(client: Client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def test_password_sign_in_lands_on_my_org() -> None:
    user = make_user(make_org())
    client = Client()
    assert sign_in(client, user.email) == reverse("directory:my_org")
    assert signed_in_as(client) == user.pk


def test_staff_sign_in_lands_on_operations() -> None:
    """Staff belong to no organization: My Org would only refuse them."""
    User.objects.create_user("support@skillibrium.example", PASSWORD, is_staff=True)
    assert sign_in(Client(), "support@skillibrium.example") == reverse("staff_operations")


def test_repeated_failures_lock_the_account_even_for_the_right_password() -> None:
    user = make_user(make_org())
    client = Client()
    for _ in range(5):
        assert "The email address and/or password you specified are not correct." in sign_in(
            client, user.email, "wrong-password"
        )
    page = sign_in(Client(), user.email)  # another browser, the right password
    assert "Too many failed login attempts" in page
    assert signed_in_as(client) is None


def test_lockout_is_per_person() -> None:
    org = make_org()
    locked, other = make_user(org), make_user(org)
    for _ in range(5):
        sign_in(Client(), locked.email, "wrong-password")
    assert sign_in(Client(), other.email) == reverse("directory:my_org")


def test_password_reset_by_email_sets_a_new_password_and_lifts_the_lockout() -> None:
    user = make_user(make_org())
    for _ in range(5):
        sign_in(Client(), user.email, "wrong-password")
    client = Client()
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(sent_mail()) == 1
    message = sent_mail()[0]
    assert message.to == [user.email]
    assert message.subject.startswith("[Sandbox] ")
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", message.body)
    assert link is not None
    form_url = client.get(link.group(0)).headers["Location"]
    new_password = "a-brand-new-passphrase"
    done = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    assert sign_in(Client(), user.email, new_password) == reverse("directory:my_org")


def test_password_reset_for_an_unknown_address_sends_nothing() -> None:
    response = Client().post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert sent_mail() == []


def test_deactivated_person_cannot_sign_in_with_a_password() -> None:
    user = make_user(make_org())
    User.objects.filter(pk=user.pk).update(is_active=False)
    client = Client()
    sign_in(client, user.email)
    assert signed_in_as(client) is None


def test_deactivation_ends_existing_sessions_on_the_next_request() -> None:
    user = make_user(make_org())
    client = Client()
    client.force_login(user)
    assert client.get(reverse("directory:my_org")).status_code == 200
    session_key = client.session.session_key
    User.objects.filter(pk=user.pk).update(is_active=False)  # as provisioning does it

    response = client.get(reverse("directory:my_org"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not Session.objects.filter(session_key=session_key).exists()


def test_organization_requiring_sso_refuses_passwords_except_the_break_glass_admin() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    make_sso(org, domains=("required.example",), require_sso=True, break_glass=admin)

    client = Client()
    response = client.post(LOGIN, {"login": member.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "signs in with single sign-on" in response.content.decode()
    assert signed_in_as(client) is None

    assert sign_in(Client(), admin.email) == reverse("directory:my_org")


def test_other_organizations_keep_password_sign_in() -> None:
    make_sso(make_org(), domains=("required.example",), require_sso=True)
    user = make_user(make_org())
    assert sign_in(Client(), user.email) == reverse("directory:my_org")


def _current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]
    return format_hotp_value(hotp_value(secret, counter))


def test_admin_must_set_up_totp_before_admin_pages_when_the_organization_requires_it() -> None:
    org = make_org()
    org.require_admin_mfa = True
    org.save()
    admin = make_user(org, role=Role.ADMIN)
    client = Client()
    assert sign_in(client, admin.email) == reverse("directory:my_org")

    response = client.get(reverse("integrations:hris_settings"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("directory:my_org")).status_code == 200  # member pages stay open

    # allauth asks for the password again before a second factor is added.
    reauthenticate = client.get(reverse("mfa_activate_totp"))["Location"]
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    assert client.post(reauthenticate, {"password": PASSWORD})["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": _current_code(secret)})
    assert response.status_code == 302
    totp = Authenticator.objects.get(user=admin, type=Authenticator.Type.TOTP)
    assert totp.data["secret"] != secret  # encrypted at rest
    assert crypto.decrypt(totp.data["secret"]) == secret
    assert client.get(reverse("integrations:hris_settings")).status_code == 200


def test_sign_in_with_totp_asks_for_the_code() -> None:
    admin = make_user(make_org(), role=Role.ADMIN)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    Authenticator.objects.create(
        user=admin, type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt(secret)}
    )
    client = Client()
    assert sign_in(client, admin.email) == reverse("mfa_authenticate")
    assert signed_in_as(client) is None
    assert client.post(reverse("mfa_authenticate"), {"code": "000000"}).status_code == 200
    assert signed_in_as(client) is None
    response = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert response.status_code == 302
    assert signed_in_as(client) == admin.pk


def test_members_are_not_asked_for_totp_by_the_admin_requirement() -> None:
    org = make_org()
    org.require_admin_mfa = True
    org.save()
    member = make_user(org)
    client = Client()
    sign_in(client, member.email)
    assert client.get(reverse("accounts:settings")).status_code == 200


def test_the_sign_in_page_speaks_to_members_and_admins_alike() -> None:
    page = " ".join(re.sub(r"<[^>]+>", " ", Client().get(LOGIN).content.decode()).split())

    assert "Sign in with your work email and password, or with your organization's single sign-on" in page
    assert "admin" not in page.lower()

"""Invitations: one single-use, expiring link per person, whoever added them; a resend retires older links."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.invitations import InvitationRefused, invite, invite_users, resend, status_of
from skillibrium.accounts.models import Invitation, Membership, Role, User
from skillibrium.core.models import AuditEntry

from .factories import make_org, make_user
from .mailbox import clear_mail, sent_mail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase"


def link_in_last_mail() -> str:
    found = re.search(r"https?://\S+/invitations/\S+/", str(sent_mail()[-1].body))
    assert found, sent_mail()[-1].body
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def accept(url: str, password: str = NEW_PASSWORD) -> tuple[Client, object]:
    client = Client()
    response = client.post(path_of(url), {"new_password1": password, "new_password2": password})
    return client, response


def test_invite_creates_a_user_without_password_and_emails_a_link() -> None:
    org = make_org("Acme")
    admin = make_user(org, role=Role.ADMIN)
    user = invite(organization=org, email="  New.Person@Acme.example ", invited_by=admin, first_name="Nia")

    assert user.email == "new.person@acme.example"
    assert not user.has_usable_password()
    assert user.membership.organization == org and user.membership.role == Role.MEMBER
    assert status_of(user) == "invited"
    mail = sent_mail()[-1]
    assert mail.to == ["new.person@acme.example"]
    assert "Acme" in mail.subject
    token = link_in_last_mail().rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get(user=user)
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    entry = AuditEntry.objects.get(action="invitation.sent")
    assert entry.actor_id == admin.pk and entry.target == user.email


def test_an_address_of_another_organization_or_a_member_is_refused() -> None:
    org, other = make_org(), make_org()
    member = make_user(org)
    stranger = make_user(other)
    with pytest.raises(InvitationRefused, match="already a member"):
        invite(organization=org, email=member.email.upper())
    with pytest.raises(InvitationRefused, match="another organization"):
        invite(organization=org, email=stranger.email)
    assert not Invitation.objects.exists()


def test_accepting_sets_the_password_signs_in_and_lands_on_my_org() -> None:
    org = make_org("Acme")
    user = invite(organization=org, email="nia@acme.example")
    url = link_in_last_mail()

    page = Client().get(path_of(url))
    assert page.status_code == 200
    assert b"Acme" in page.content and b"nia@acme.example" in page.content

    client, response = accept(url)
    assert response.status_code == 302 and response["Location"] == reverse("directory:my_org")  # type: ignore[attr-defined]
    assert client.get(reverse("directory:my_org")).status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and status_of(user) == "active"
    assert AuditEntry.objects.filter(action="invitation.accepted", target=user.email).exists()


def test_a_link_works_once() -> None:
    invite(organization=make_org(), email="nia@acme.example")
    url = link_in_last_mail()
    accept(url)
    _, again = accept(url, "another-long-passphrase")
    assert again.status_code == 410  # type: ignore[attr-defined]
    assert b"already used" in again.content  # type: ignore[attr-defined]
    assert User.objects.get(email="nia@acme.example").check_password(NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_still_works() -> None:
    invite(organization=make_org(), email="nia@acme.example")
    url = link_in_last_mail()
    _, response = accept(url, "123")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert Invitation.objects.get().accepted_at is None
    _, response = accept(url)
    assert response.status_code == 302  # type: ignore[attr-defined]


def test_an_expired_link_says_when_and_whom_to_ask(settings: Settings) -> None:
    settings.INVITATION_DAYS = 3
    org = make_org("Acme")
    invite(organization=org, email="nia@acme.example")
    url = link_in_last_mail()
    invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=3)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    _, response = accept(url)
    assert response.status_code == 410  # type: ignore[attr-defined]
    text = response.content.decode()  # type: ignore[attr-defined]
    assert "This invitation expired on" in text and "Ask an admin of Acme to resend it" in text
    assert not User.objects.get(email="nia@acme.example").has_usable_password()


def test_resend_retires_the_old_link() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    user = invite(organization=org, email="nia@acme.example")
    old = link_in_last_mail()
    resend(user=user, by=admin)
    new = link_in_last_mail()
    assert old != new

    _, response = accept(old)
    assert response.status_code == 410  # type: ignore[attr-defined]
    _, response = accept(new)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action="invitation.resent", actor_id=admin.pk).exists()
    with pytest.raises(InvitationRefused):
        resend(user=user, by=admin)  # active now


def test_a_deactivated_persons_link_does_not_work() -> None:
    user = invite(organization=make_org(), email="nia@acme.example")
    url = link_in_last_mail()
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    assert status_of(user) == "deactivated"
    _, response = accept(url)
    assert response.status_code == 404  # type: ignore[attr-defined]
    with pytest.raises(InvitationRefused):
        resend(user=user, by=None)


def test_an_unknown_token_answers_404() -> None:
    response = Client().get(reverse("invitation_accept", args=["not-a-token"]))
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_provisioning_invites_each_new_user_once() -> None:
    org = make_org()
    users = [User.objects.create_user(f"p{i}@acme.example") for i in range(3)]
    Membership.objects.bulk_create(Membership(user=user, organization=org) for user in users)
    clear_mail()
    assert invite_users([u.pk for u in users]) == 3
    assert invite_users([u.pk for u in users]) == 0
    assert sorted(m.to[0] for m in sent_mail()) == sorted(u.email for u in users)
    assert all(status_of(u) == "invited" for u in users)


def test_a_link_sent_to_an_address_the_person_no_longer_has_does_not_work() -> None:
    """The HRIS moved the person to a new address (their old one may go to a new hire): the old mailbox's
    link no longer opens their account."""
    user = invite(organization=make_org(), email="nia@acme.example")
    url = link_in_last_mail()
    User.objects.filter(pk=user.pk).update(email="nia.new@acme.example")
    _, response = accept(url)
    assert response.status_code == 404  # type: ignore[attr-defined]
    user.refresh_from_db()
    assert not user.has_usable_password()
    resend(user=user, by=None)
    assert sent_mail()[-1].to == ["nia.new@acme.example"]
    _, response = accept(link_in_last_mail())
    assert response.status_code == 302  # type: ignore[attr-defined]

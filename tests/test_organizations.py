"""Staff create a customer's organization and invite its first admin; nothing is half-created."""

import pytest
from django.test import Client
from django.urls import reverse

from skillibrium.accounts.invitations import status_of
from skillibrium.accounts.models import Environment, Organization, Role, User
from skillibrium.core.models import AuditEntry

from .factories import make_org, make_user, signed_in
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db

URL = reverse("staff_create_organization")
GLOBEX = {
    "name": "Globex",
    "time_zone": "America/Chicago",
    "environment": "production",
    "admin_email": "Hank@Globex.example",
    "admin_first_name": "Hank",
    "admin_last_name": "Scorpio",
}


@pytest.fixture
def staff() -> Client:
    return signed_in(User.objects.create_user("support@skillibrium.example", "x", is_staff=True))


def test_staff_create_an_organization_and_invite_its_admin(staff: Client) -> None:
    assert b"Create organization" in staff.get(reverse("staff_operations")).content
    response = staff.post(URL, GLOBEX)
    assert response.status_code == 302

    org = Organization.objects.get(name="Globex")
    assert org.time_zone == "America/Chicago" and org.environment == Environment.PRODUCTION
    admin = User.objects.get(email="hank@globex.example")
    assert admin.membership.organization == org and admin.membership.role == Role.ADMIN
    assert status_of(admin) == "invited"
    assert sent_mail()[-1].to == ["hank@globex.example"]
    assert "/invitations/" in str(sent_mail()[-1].body)
    entry = AuditEntry.objects.get(action="organization.created")
    assert entry.organization_id == org.pk and entry.actor is not None and entry.actor.is_staff
    assert AuditEntry.objects.filter(organization=org, action="invitation.sent").exists()


def test_the_environment_defaults_to_the_deployments(staff: Client) -> None:
    form = staff.get(URL).content.decode()
    assert 'value="sandbox" selected' in form


def test_bad_input_is_refused_clearly_and_creates_nothing(staff: Client) -> None:
    taken = make_user(make_org("Initech"), email="hank@globex.example")
    response = staff.post(URL, GLOBEX | {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "is not a time zone" in text
    assert f"{taken.email} already belongs to a Skillibrium user" in text
    assert 'value="Globex"' in text  # nothing typed is lost
    assert not Organization.objects.filter(name="Globex").exists()


def test_customers_cannot_create_organizations() -> None:
    admin = make_user(make_org(), role=Role.ADMIN)
    assert signed_in(admin).post(URL, GLOBEX).status_code == 403
    assert not Organization.objects.filter(name="Globex").exists()

"""Ahead of the break (password-rotation warnings) and after it ('Still not syncing?', staff operations)."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.integrations.choices import Cause, Health
from skillibrium.integrations.models import Integration, SupportRequest
from skillibrium.notifications.services import warn_rotations

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db


def test_admins_record_the_rotation_policy_and_are_warned_once_before_the_expiry() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    Integration.objects.filter(pk=integration.pk).update(linked_at=timezone.now() - dt.timedelta(days=80))
    url = reverse("integrations:rotation_policy", args=[integration.pk])

    refused = signed_in(make_user(org)).post(url, {"password_rotation_days": 90, "rotation_warning_days": 14})
    bad = signed_in(admin).post(url, {"password_rotation_days": -3, "rotation_warning_days": 14})
    integration.refresh_from_db()
    assert refused.status_code == 403 and integration.password_rotation_days is None
    assert bad.status_code == 302 and integration.password_rotation_days is None

    signed_in(admin).post(url, {"password_rotation_days": 90, "rotation_warning_days": 14})

    assert warn_rotations() == 1 and warn_rotations() == 0  # 80 of 90 days: inside the 14-day warning
    assert mail.outbox[0].to == [admin.email]
    assert "password is expected to expire" in mail.outbox[0].subject
    Integration.objects.filter(pk=integration.pk).update(linked_at=timezone.now())  # relinked: a new period
    assert warn_rotations() == 0


def test_still_not_syncing_files_a_request_with_the_diagnostics(settings: Settings) -> None:
    settings.SUPPORT_EMAIL = "help@skillibrium.test"
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    integration.set_health(Health.RELINK_NEEDED, Cause.MISSING_PERMISSIONS, "Missing permission: Get_Workers")
    url = reverse("integrations:contact_support", args=[integration.pk])

    assert signed_in(make_user(org)).post(url, {"message": "help"}).status_code == 403
    signed_in(admin).post(url, {"message": "Relinked twice, still failing."})

    filed = SupportRequest.objects.get(integration=integration)
    assert filed.created_by == admin and filed.message == "Relinked twice, still failing."
    assert filed.diagnostics["linked_account_id"] == integration.merge_account_id
    assert filed.diagnostics["cause"] == Cause.MISSING_PERMISSIONS
    assert mail.outbox[-1].to == ["help@skillibrium.test"]
    assert integration.merge_account_id in mail.outbox[-1].body


def test_staff_see_every_organization_by_health_and_no_one_else_does() -> None:
    broken_org, healthy_org = make_org("Broken Co"), make_org("Healthy Co")
    broken = make_integration(broken_org)
    broken.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET)
    make_integration(healthy_org)
    staff = User.objects.create_user("ops@skillibrium.example", "x", is_staff=True)

    page = signed_in(staff).get(reverse("staff_operations"))
    refused = signed_in(make_user(broken_org, role=Role.ADMIN)).get(reverse("staff_operations"))

    text = page.content.decode()
    assert page.status_code == 200 and text.index("Broken Co") < text.index("Healthy Co")
    assert refused.status_code == 403

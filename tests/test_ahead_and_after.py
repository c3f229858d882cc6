"""Ahead of the break (password-rotation warnings) and after it ('Still not syncing?', staff operations)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.integrations.choices import Cause, Health
from skillibrium.integrations.models import Integration, SupportRequest
from skillibrium.notifications.services import warn_rotations

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import sent_mail

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
    assert sent_mail()[0].to == [admin.email]
    assert "password is expected to expire" in sent_mail()[0].subject
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
    to_support = [m for m in sent_mail() if m.to == ["help@skillibrium.test"]]
    assert len(to_support) == 1 and integration.merge_account_id in to_support[0].body
    assert to_support[0].reply_to == [admin.email]


def test_still_not_syncing_sends_the_admin_the_confirmation_the_docs_promise(settings: Settings) -> None:
    """Issue item 11: docs/email-delivery.md lists support confirmations among the emails: the admin who
    asked gets one, once, naming the request, and replies to it reach support."""
    settings.SUPPORT_EMAIL = "help@skillibrium.test"
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    integration.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET, "Invalid login credentials")

    signed_in(admin).post(
        reverse("integrations:contact_support", args=[integration.pk]), {"message": "Still failing."}
    )

    filed = SupportRequest.objects.get(integration=integration)
    confirmations = [m for m in sent_mail() if m.to == [admin.email]]
    assert [m.subject for m in confirmations] == [f"[Sandbox] We received your support request {filed.pk}"]
    assert confirmations[0].reply_to == ["help@skillibrium.test"]
    assert "Still failing." in confirmations[0].body and "Workday" in confirmations[0].body


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

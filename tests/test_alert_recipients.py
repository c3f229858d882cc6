"""Who hears of a connection: admins less those who opted out, always its owner, the organization's extra
addresses (with a footer saying why), never a deactivated user, each address once."""

import pytest
from django.urls import reverse

from skillibrium.accounts.models import Role
from skillibrium.core.models import AuditEntry
from skillibrium.integrations.choices import Cause, Health
from skillibrium.notifications.models import AlertOptOut
from skillibrium.notifications.recipients import recipients_for
from skillibrium.notifications.services import notify_health_change

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db


def test_extra_addresses_and_the_owner_hear_of_a_break_and_an_opted_out_admin_does_not() -> None:
    org = make_org()
    owner, other, quiet = (make_user(org, role=Role.ADMIN) for _ in range(3))
    gone = make_user(org, role=Role.ADMIN, email="gone@example.com")
    gone.is_active = False
    gone.save()
    integration = make_integration(org)
    integration.linked_by = owner
    integration.save()
    page = signed_in(owner)
    page.post(
        reverse("accounts:alert_addresses"), {"addresses": "it@example.com\nIT@example.com, gone@example.com"}
    )
    for admin in (owner, quiet):
        page = signed_in(admin)
        assert page.post(reverse("accounts:alert_preference"), {}).status_code == 302  # box unticked
    assert set(AlertOptOut.objects.values_list("user_id", flat=True)) == {owner.pk, quiet.pk}

    integration.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET)
    notify_health_change(integration)
    notify_health_change(integration)

    mails = sent_mail()
    assert [sorted(m.to) for m in mails] == [sorted([owner.email, other.email]), ["it@example.com"]]
    assert "lists this address for connection alerts" in str(mails[1].body)
    assert "lists this address" not in str(mails[0].body)
    assert AuditEntry.objects.filter(action="user.connection_alerts_changed").count() == 2


def test_bad_extra_addresses_are_refused_and_nothing_is_lost() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    url = reverse("accounts:alert_addresses")
    signed_in(admin).post(url, {"addresses": "it@example.com"})
    refused = signed_in(admin).post(url, {"addresses": "ops@example.com\nnot an address"})
    member = signed_in(make_user(org)).post(url, {"addresses": "x@example.com"})
    assert refused.status_code == 400 and "Not an email address: not an address" in refused.text
    assert member.status_code == 403
    assert recipients_for(make_integration(org)).extra == ["it@example.com"]
    entry = AuditEntry.objects.get(action="organization.alert_addresses_changed")
    assert entry.detail["after"] == {"addresses": ["it@example.com"]}


def test_a_demoted_owner_is_still_told_and_a_deactivated_one_is_not() -> None:
    org = make_org()
    owner = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    integration.linked_by = owner
    integration.save()
    owner.membership.role = Role.MEMBER
    owner.membership.save()
    assert recipients_for(integration).admins == [owner.email]
    owner.is_active = False
    owner.save()
    assert not recipients_for(integration)

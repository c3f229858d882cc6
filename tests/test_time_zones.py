"""Every time is shown in the organization's time zone with its label, in pages and emails; an admin changes
the zone in Company Settings (audited), a member cannot, and a name that is no zone changes nothing."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Organization, Role
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations import health
from skillibrium.integrations.choices import Cause
from skillibrium.integrations.models import Integration, IntegrationEvent
from skillibrium.notifications.services import warn_lasting_degradation
from skillibrium.provisioning.scope import leavers_waiting
from skillibrium.sync.models import SyncRun

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db

WINTER = dt.datetime(2026, 1, 15, 13, 5, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 1, 10, 30, tzinfo=dt.UTC)


def org_in(zone: str) -> Organization:
    org = make_org()
    org.time_zone = zone
    org.save(update_fields=["time_zone"])
    return org


def test_the_edit_page_shows_times_in_the_organizations_zone_with_its_label() -> None:
    integration = make_integration(org_in("Europe/Berlin"))
    Integration.objects.filter(pk=integration.pk).update(last_successful_sync_at=WINTER)
    run = SyncRun.objects.create(integration=integration, trigger="schedule", started_at=SUMMER)
    admin = signed_in(make_user(integration.organization, role=Role.ADMIN))

    page = admin.get(reverse("integrations:edit", args=[integration.pk])).content.decode()

    assert "<dd>Jan. 15, 2026, 2:05 p.m. CET</dd>" in page  # last successful sync, UTC+1 in winter
    run_url = reverse("integrations:run_detail", args=[integration.pk, run.pk])
    assert f'<td><a href="{run_url}">July 1, 2026, 12:30 p.m. CEST</a></td>' in page  # UTC+2 in summer
    assert "1:05 p.m." not in page and "10:30 a.m." not in page
    assert "Times in Europe/Berlin" in page


def test_the_audit_log_shows_times_in_the_organizations_zone() -> None:
    org = org_in("America/New_York")
    admin = make_user(org, role=Role.ADMIN)
    AuditEntry.objects.create(
        organization=org, at=dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC), action="x.y"
    )

    page = signed_in(admin).get(reverse("audit_log")).content.decode()

    assert "March 10, 2026, 7:30 p.m. EDT" in page


def test_my_org_labels_a_zone_without_an_abbreviation_by_its_name() -> None:
    org = org_in("Asia/Dubai")  # its abbreviation is "+04"
    Person.objects.create(
        organization=org, first_name="Dana", not_seen_since=dt.datetime(2026, 2, 1, 0, 30, tzinfo=dt.UTC)
    )

    page = signed_in(make_user(org)).get(reverse("directory:my_org")).content.decode()

    assert "Not seen at the source since Feb. 1, 2026, 4:30 a.m. (Asia/Dubai)" in page


def test_another_organizations_zone_does_not_leak_into_a_request() -> None:
    berlin, tokyo = org_in("Europe/Berlin"), org_in("Asia/Tokyo")
    for org in (berlin, tokyo):
        AuditEntry.objects.create(organization=org, at=WINTER, action="x.y")
    assert "2:05 p.m. CET" in signed_in(make_user(berlin, role=Role.ADMIN)).get(reverse("audit_log")).text
    assert "10:05 p.m. JST" in signed_in(make_user(tokyo, role=Role.ADMIN)).get(reverse("audit_log")).text
    assert timezone.get_current_timezone_name() == "UTC"  # nothing stays active after a request


def test_an_admin_changes_the_time_zone_and_it_is_audited() -> None:
    org = org_in("UTC")
    admin = make_user(org, role=Role.ADMIN)
    client = signed_in(admin)

    response = client.post(reverse("accounts:time_zone"), {"time_zone": "Europe/Berlin"})

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.time_zone == "Europe/Berlin"
    [entry] = AuditEntry.objects.filter(organization=org, action="organization.time_zone_changed")
    assert entry.actor == admin
    assert entry.detail == {"before": {"time_zone": "UTC"}, "after": {"time_zone": "Europe/Berlin"}}
    page = client.get(reverse("accounts:settings_company")).content.decode()
    assert "Saved. Times are now shown in Europe/Berlin." in page
    assert '<option value="Europe/Berlin" selected>' in page
    assert "CET" in page.split('id="time-zone"')[1].split("</dd>")[0]


def test_a_member_cannot_change_the_time_zone() -> None:
    org = org_in("Europe/Berlin")
    member = signed_in(make_user(org))

    assert member.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"}).status_code == 403
    org.refresh_from_db()
    assert org.time_zone == "Europe/Berlin"
    assert not AuditEntry.objects.filter(organization=org, action="organization.time_zone_changed").exists()
    page = member.get(reverse("accounts:settings_company")).content.decode()
    assert "Europe/Berlin" in page and 'id="time-zone-form"' not in page


def test_a_name_that_is_no_time_zone_is_refused_clearly_and_changes_nothing() -> None:
    org = org_in("Europe/Berlin")
    client = signed_in(make_user(org, role=Role.ADMIN))

    response = client.post(reverse("accounts:time_zone"), {"time_zone": "Mars/Olympus"})

    assert response.status_code == 400
    assert "“Mars/Olympus” is not a time zone." in response.content.decode()
    assert "Nothing was changed." in response.content.decode()
    org.refresh_from_db()
    assert org.time_zone == "Europe/Berlin"
    assert not AuditEntry.objects.filter(organization=org, action="organization.time_zone_changed").exists()


def test_emails_show_times_in_the_organizations_zone() -> None:
    integration = make_integration(org_in("Europe/Berlin"))
    make_user(integration.organization, role=Role.ADMIN)
    health.record_degraded(integration, Cause.PROVIDER_OUTAGE, "Workday is offline")
    IntegrationEvent.objects.filter(integration=integration).update(at=WINTER)

    assert warn_lasting_degradation(leavers_waiting=leavers_waiting, now=WINTER + dt.timedelta(days=2)) == 1

    [email] = sent_mail()
    assert "has been degraded since Jan. 15, 2026, 2:05 p.m. CET." in email.body
    assert "UTC" not in email.body


def test_the_command_line_lists_runs_in_their_organizations_zone() -> None:
    berlin, dubai = make_integration(org_in("Europe/Berlin")), make_integration(org_in("Asia/Dubai"))
    for integration in (berlin, dubai):
        SyncRun.objects.create(integration=integration, trigger="schedule", started_at=WINTER)
    out = io.StringIO()

    call_command("sync_runs", stdout=out)

    assert "2026-01-15 14:05:00 CET" in out.getvalue()
    assert "2026-01-15 17:05:00 (Asia/Dubai)" in out.getvalue()

"""A degraded connection that lasts is not silent: one email after a while, and the card says so."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role
from skillibrium.directory.models import EmploymentStatus, Person
from skillibrium.integrations import health
from skillibrium.integrations.choices import Category, Cause, Health
from skillibrium.integrations.models import Integration, IntegrationEvent
from skillibrium.merge_client import Transient
from skillibrium.notifications.services import warn_lasting_degradation
from skillibrium.provisioning.scope import leavers_waiting

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import sent_mail

pytestmark = pytest.mark.django_db


def warn(*, now: dt.datetime) -> int:
    """The hourly check, as the scheduler runs it."""
    return warn_lasting_degradation(leavers_waiting=leavers_waiting, now=now)


def with_people(integration: Integration, *, leavers: int, staying: int) -> None:
    """People whose user is active; the leavers' HRIS records say they were terminated yesterday."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    for n in range(leavers + staying):
        user = make_user(integration.organization)
        Person.objects.create(
            organization=integration.organization,
            source_category=integration.category,
            work_email=user.email,
            employment_status=EmploymentStatus.INACTIVE if n < leavers else EmploymentStatus.ACTIVE,
            termination_date=yesterday if n < leavers else None,
            user=user,
        )


def test_a_provider_offline_for_a_day_emails_the_admins_once_with_the_leavers_waiting() -> None:
    """Issue item 16: degraded (provider offline, no relink needed) for 24 h: one email naming the cause and
    how many leavers wait to be deprovisioned; not before, not again later, not again on a change of cause
    inside the same spell."""
    integration = make_integration(make_org())
    admin = make_user(integration.organization, role=Role.ADMIN)
    with_people(integration, leavers=2, staying=3)
    health.record_degraded(integration, Cause.PROVIDER_OUTAGE, "Workday is offline (third-party outage)")
    start = timezone.now()

    assert warn(now=start + dt.timedelta(hours=23)) == 0
    assert sent_mail() == []  # a short spell heals by itself and needs no one
    health.record_degraded(integration, Cause.OTHER, "Merge.dev reports an issue")  # same spell
    assert warn(now=start + dt.timedelta(hours=25)) == 1
    assert warn(now=start + dt.timedelta(hours=26)) == 0
    assert warn(now=start + dt.timedelta(days=5)) == 0

    [email] = sent_mail()
    assert email.to == [admin.email]
    assert email.subject.startswith("[Sandbox] Your Workday integration has not fully synced since")
    assert "Cause: Other" in email.body and "Merge.dev reports an issue" in email.body
    assert "Leavers waiting to be deprovisioned: 2." in email.body
    assert f"/my-org/hris/{integration.pk}/edit/" in email.body


def test_a_lasting_merge_outage_is_told_too_and_the_time_is_configurable(settings: Settings) -> None:
    """Issue item 16: the threshold is a setting; a Merge outage that lasts is told like a provider's."""
    settings.DEGRADED_ALERT_HOURS = 2
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)
    health.record_failure(integration, Transient("Merge.dev answered 503"))
    assert (integration.health, integration.cause) == (Health.DEGRADED, Cause.MERGE_OUTAGE)

    assert warn(now=timezone.now() + dt.timedelta(hours=1)) == 0
    assert warn(now=timezone.now() + dt.timedelta(hours=3)) == 1
    assert "Leavers waiting to be deprovisioned: 0." in sent_mail()[0].body


def test_the_hris_settings_card_shows_a_degraded_spell_and_the_leavers_it_holds_back() -> None:
    """Issue item 16: the card names the cause, since when, the leavers waiting, and that admins were told."""
    integration = make_integration(make_org())
    admin = make_user(integration.organization, role=Role.ADMIN)
    with_people(integration, leavers=3, staying=1)
    health.record_degraded(integration, Cause.PROVIDER_OUTAGE, "Workday is offline")
    IntegrationEvent.objects.filter(integration=integration).update(
        at=timezone.now() - dt.timedelta(hours=30)
    )

    page = signed_in(admin).get(reverse("integrations:hris_settings")).content.decode()

    assert "Provider outage" in page and "Degraded since" in page and "(admins were emailed)" in page
    assert 'data-leavers-waiting="3"' in page
    health.record_success(integration, watermark=None)
    healed = signed_in(admin).get(reverse("integrations:hris_settings")).content.decode()
    assert "Degraded since" not in healed and "data-leavers-waiting" not in healed


def test_company_integrations_shows_a_degraded_crm_and_the_leavers_it_holds_back() -> None:
    """Issue item 16: a CRM's degraded spell shows in Company Integrations too."""
    integration = make_integration(make_org(), category=Category.CRM)
    admin = make_user(integration.organization, role=Role.ADMIN)
    with_people(integration, leavers=1, staying=1)
    health.record_degraded(integration, Cause.PROVIDER_OUTAGE, "Salesforce is offline")

    page = signed_in(admin).get(reverse("integrations:company_integrations")).content.decode()

    assert "Provider outage since" in page and 'data-leavers-waiting="1"' in page

"""Issue, "one home for each transition", tests: fast unit tests of the health decisions and the retry
schedule, without Merge: what an error means for an integration, when it is tried again, who hears of it."""

import datetime as dt

import pytest
from django.utils import timezone

from skillibrium.accounts.models import Role
from skillibrium.integrations import health
from skillibrium.integrations.choices import Cause, Health, IncidentKind
from skillibrium.integrations.models import Integration, PlatformIncident
from skillibrium.merge_client import (
    AccountGone,
    MergeError,
    Misconfigured,
    RateLimited,
    RelinkNeeded,
    Transient,
)

from .factories import make_integration, make_org, make_user
from .mailbox import clear_mail, sent_mail


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            RelinkNeeded("The password for the linked user was reset."),
            (Health.RELINK_NEEDED, Cause.PASSWORD_RESET),
        ),
        (
            RelinkNeeded("Expired credentials for the sync user"),
            (Health.RELINK_NEEDED, Cause.EXPIRED_CREDENTIALS),
        ),
        (AccountGone("Merge deleted the linked account."), (Health.DISCONNECTED, Cause.ACCOUNT_DELETED)),
        (Transient("Merge answered 503"), (Health.DEGRADED, Cause.MERGE_OUTAGE)),
        (RateLimited("429", retry_after=3), (Health.DEGRADED, Cause.MERGE_OUTAGE)),
        (MergeError("something new"), (Health.DEGRADED, Cause.OTHER)),
    ],
)
def test_each_error_type_decides_the_health_and_cause(
    error: MergeError, expected: tuple[Health, Cause]
) -> None:
    assert health.diagnose(error) == expected


@pytest.mark.parametrize(
    ("failures", "failing_for", "delay"),
    [
        (0, dt.timedelta(0), dt.timedelta(minutes=1)),
        (1, dt.timedelta(0), dt.timedelta(minutes=1)),
        (2, dt.timedelta(minutes=1), dt.timedelta(minutes=2)),
        (3, dt.timedelta(minutes=3), dt.timedelta(minutes=5)),
        (6, dt.timedelta(hours=1), dt.timedelta(hours=1)),
        (50, dt.timedelta(hours=23), dt.timedelta(hours=1)),
        (50, dt.timedelta(days=1), dt.timedelta(hours=6)),
        (2, dt.timedelta(days=3), dt.timedelta(hours=6)),
    ],
)
def test_retry_schedule_backs_off_then_slows_after_a_day(
    failures: int, failing_for: dt.timedelta, delay: dt.timedelta
) -> None:
    assert health.retry_delay(failures, failing_for) == delay


def unwell(integration: Integration) -> Integration:
    """The integration as the database holds it, after the decision under test."""
    return Integration.objects.get(pk=integration.pk)


@pytest.mark.django_db
def test_a_transient_failure_degrades_schedules_a_retry_and_emails_no_one() -> None:
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)
    before = timezone.now()

    health.record_failure(integration, Transient("Merge answered 502"))
    health.record_failure(integration, Transient("Merge answered 502"))

    stored = unwell(integration)
    assert (stored.health, stored.cause) == (Health.DEGRADED, Cause.MERGE_OUTAGE)
    assert stored.consecutive_failures == 2 and stored.provisioning_pending
    assert stored.failing_since is not None and before <= stored.failing_since <= timezone.now()
    assert stored.next_sync_at is not None
    assert dt.timedelta(minutes=2) <= stored.next_sync_at - before <= dt.timedelta(minutes=2, seconds=5)
    assert sent_mail() == []


@pytest.mark.django_db
def test_the_first_failure_keeps_its_time_while_failures_go_on() -> None:
    integration = make_integration(make_org())
    started = timezone.now() - dt.timedelta(days=2)
    Integration.objects.filter(pk=integration.pk).update(failing_since=started, consecutive_failures=9)
    integration.refresh_from_db()

    health.record_failure(integration, Transient("still down"))

    stored = unwell(integration)
    assert stored.failing_since == started and stored.consecutive_failures == 10
    assert stored.next_sync_at is not None
    assert stored.next_sync_at - timezone.now() > dt.timedelta(hours=5, minutes=59)  # a day on: every 6 h


@pytest.mark.django_db
def test_a_relink_needed_emails_the_admins_once_and_waits_for_them() -> None:
    integration = make_integration(make_org())
    admin = make_user(integration.organization, role=Role.ADMIN)
    make_user(integration.organization, role=Role.MEMBER)
    scheduled = integration.next_sync_at

    health.record_failure(integration, RelinkNeeded("Expired credentials for the sync user"))
    health.record_failure(integration, RelinkNeeded("Expired credentials for the sync user"))

    stored = unwell(integration)
    assert (stored.health, stored.cause) == (Health.RELINK_NEEDED, Cause.EXPIRED_CREDENTIALS)
    assert stored.next_sync_at == scheduled  # no sooner retry: only a relink helps
    assert [m.to for m in sent_mail()] == [[admin.email]]


@pytest.mark.django_db
def test_a_problem_merge_reports_degrades_without_email_and_holds_provisioning() -> None:
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)

    health.record_degraded(integration, Cause.PROVIDER_OUTAGE, "Workday is offline")

    stored = unwell(integration)
    assert (stored.health, stored.cause) == (Health.DEGRADED, Cause.PROVIDER_OUTAGE)
    assert stored.provisioning_pending and stored.consecutive_failures == 0
    assert sent_mail() == []


@pytest.mark.django_db
def test_success_after_failures_resets_them_and_asks_for_a_full_provisioning_pass() -> None:
    integration = make_integration(make_org())
    make_user(integration.organization, role=Role.ADMIN)
    health.record_failure(integration, Transient("Merge answered 503"))
    stamp = timezone.now() - dt.timedelta(minutes=5)

    assert health.record_success(integration, watermark=stamp) is True
    assert health.record_success(integration, watermark=stamp) is False  # nothing was missed since

    stored = unwell(integration)
    assert (stored.health, stored.cause) == (Health.HEALTHY, Cause.NONE)
    assert stored.consecutive_failures == 0 and stored.failing_since is None
    assert not stored.provisioning_pending and stored.sync_watermark == stamp
    assert sent_mail() == []  # a degraded spell that healed itself needed no one


@pytest.mark.django_db
def test_recovery_from_a_relink_needed_says_so_to_the_admins() -> None:
    integration = make_integration(make_org(), health=Health.HEALTHY)
    admin = make_user(integration.organization, role=Role.ADMIN)
    health.record_failure(integration, RelinkNeeded("The password for the linked user was reset."))
    clear_mail()

    health.record_success(integration, watermark=None)

    assert unwell(integration).health == Health.HEALTHY
    assert [m.to for m in sent_mail()] == [[admin.email]]


@pytest.mark.django_db
def test_a_rejected_api_key_is_one_platform_incident_not_the_organizations_problem(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue item 1, the decision alone: no health change, no email, one incident logged once at ERROR."""
    first, second = make_integration(make_org()), make_integration(make_org())
    make_user(first.organization, role=Role.ADMIN)

    for integration in (first, second, first):
        health.record_failure(
            integration, Misconfigured("Merge rejected Skillibrium's API key: Invalid token.")
        )

    for integration in (first, second):
        stored = unwell(integration)
        assert (stored.health, stored.cause) == (Health.HEALTHY, Cause.NONE)
        assert stored.provisioning_pending and stored.consecutive_failures == 0
    incident = PlatformIncident.objects.get()
    assert incident.kind == IncidentKind.API_KEY_REJECTED and incident.ended_at is None
    assert [r.levelname for r in caplog.records if "platform incident" in r.getMessage()] == ["ERROR"]
    assert sent_mail() == []


@pytest.mark.django_db
def test_closing_an_incident_closes_only_its_kind() -> None:
    outage = health.open_platform_incident("Merge.dev did not answer")
    key = health.open_platform_incident("Invalid token.", IncidentKind.API_KEY_REJECTED)

    assert health.close_platform_incident(IncidentKind.API_KEY_REJECTED) is True
    assert health.close_platform_incident(IncidentKind.API_KEY_REJECTED) is False

    assert PlatformIncident.objects.get(pk=key.pk).ended_at is not None
    assert PlatformIncident.current() == outage

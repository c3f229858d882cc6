"""Whose credential Merge refused: our API key (a platform incident) or one linked account's token."""

import logging

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.integrations import monitor
from skillibrium.integrations.choices import Cause, Health, IncidentKind, Trigger
from skillibrium.integrations.disconnect import finish_pending_deletions
from skillibrium.integrations.models import Integration, PlatformIncident
from skillibrium.merge_client import MergeClient
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus
from skillibrium.sync.tasks import queue_due_syncs

from .factories import make_org, make_user, queued_syncs
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def linked(sandbox: Sandbox) -> Integration:
    integration, _ = link(sandbox, make_org(), sandbox.tenant(size=5))
    assert sync(integration, Trigger.SETUP).status == RunStatus.SUCCEEDED
    return integration


def queued_ids() -> set[int]:
    return {task.args_kwargs["args"][0] for task in queued_syncs()}


def test_a_rejected_api_key_is_one_platform_incident_and_heals_by_itself(
    sandbox: Sandbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue item 1: a bad Skillibrium API key changes no tenant's health and emails no one; one incident for
    staff, logged at ERROR once; syncs are held fleet-wide (the poller does not crash) and resume by
    themselves once the key works again."""
    first, second = linked(sandbox), linked(sandbox)
    mail.outbox.clear()
    good_key, settings.MERGE_API_KEY = settings.MERGE_API_KEY, "a-revoked-key"

    with caplog.at_level(logging.ERROR):
        failed = sync(first)
        held = sync_integration(integration_id=second.pk, trigger=Trigger.WEBHOOK)
        poll = monitor.poll_linked_accounts()
        again = monitor.poll_linked_accounts()

    assert failed.status == RunStatus.FAILED and "API key" in failed.error
    assert held is None and poll.api_key_rejected and again.api_key_rejected
    for integration in (first, second):
        integration.refresh_from_db()
        assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)
    assert mail.outbox == []
    incident = PlatformIncident.objects.get()
    assert (incident.kind, incident.ended_at) == (IncidentKind.API_KEY_REJECTED, None)
    assert [r.levelno for r in caplog.records if "API key" in r.getMessage()] == [logging.ERROR]
    assert queue_due_syncs() == 0 and queued_ids() == set()
    staff = User.objects.create_user("ops@skillibrium.example", "x", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert b'data-incident="api_key_rejected"' in client.get(reverse("staff_operations")).content

    settings.MERGE_API_KEY = good_key
    monitor.poll_linked_accounts()

    incident.refresh_from_db()
    assert incident.ended_at is not None
    assert {first.pk, second.pk} <= queued_ids()
    assert sync(first).status == RunStatus.SUCCEEDED and first.health == Health.HEALTHY
    assert mail.outbox == []


def test_a_refused_token_of_an_account_merge_still_lists_needs_a_relink_not_a_new_connection(
    sandbox: Sandbox,
) -> None:
    """Issue item 1: a refused account token is not "account deleted" until Merge says the account is gone."""
    integration = linked(sandbox)
    Integration.objects.filter(pk=integration.pk).update(account_token="a-token-merge-never-issued")

    failed = sync(integration)

    assert failed.status == RunStatus.FAILED
    assert integration.health == Health.RELINK_NEEDED
    assert PlatformIncident.objects.count() == 0


def test_an_account_merge_no_longer_lists_is_gone(sandbox: Sandbox) -> None:
    """Issue item 1: Merge refuses the token and no longer lists the account: it was deleted at Merge."""
    integration = linked(sandbox)
    with MergeClient(
        category=integration.category,
        account_token=integration.account_token,
        account_id=integration.merge_account_id,
    ) as client:
        client.delete_account()

    failed = sync(integration)

    assert failed.status == RunStatus.FAILED
    assert (integration.health, integration.cause) == (Health.DISCONNECTED, Cause.ACCOUNT_DELETED)
    assert PlatformIncident.objects.count() == 0


def listed_at_merge(integration: Integration) -> bool:
    with MergeClient(category=integration.category) as client:
        return any(
            a["id"] == integration.merge_account_id
            for page in client.pages("linked-accounts", {"id": integration.merge_account_id})
            for a in page
        )


def test_disconnect_says_when_merge_did_not_delete_and_keeps_asking(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Issue item 2: Disconnect reports no success while Merge still has the linked account; the deletion
    stays pending and the scheduled task asks again until Merge confirms."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration = linked(sandbox)
    admin = make_user(integration.organization, role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    sandbox.control("POST", "outage", mode="503")
    try:
        answer = client.post(
            reverse("integrations:disconnect", args=[integration.pk]),
            {"confirm": integration.provider_name},
            follow=True,
        )
        assert finish_pending_deletions() == 1
    finally:
        sandbox.control("DELETE", "outage")

    [message] = list(answer.context["messages"])
    assert message.level_tag == "warning" and "has not confirmed" in message.message
    assert b'id="deletion-pending"' in answer.content
    integration.refresh_from_db()
    assert (integration.health, integration.cause) == (Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN)
    assert integration.merge_deletion_requested_at is not None and listed_at_merge(integration)

    assert finish_pending_deletions() == 0

    integration.refresh_from_db()
    assert integration.merge_deletion_requested_at is None and not listed_at_merge(integration)


def test_a_confirmed_disconnect_reports_success(sandbox: Sandbox) -> None:
    """Issue item 2: when Merge deleted the linked account, the admin is told so and nothing stays pending."""
    integration = linked(sandbox)
    admin = make_user(integration.organization, role=Role.ADMIN)
    client = Client()
    client.force_login(admin)

    answer = client.post(
        reverse("integrations:disconnect", args=[integration.pk]),
        {"confirm": integration.provider_name},
        follow=True,
    )

    [message] = list(answer.context["messages"])
    assert message.level_tag == "success"
    integration.refresh_from_db()
    assert integration.merge_deletion_requested_at is None and not listed_at_merge(integration)


def test_the_fleet_poll_opens_the_one_incident_instead_of_crashing(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Issue item 1: the fleet poll meeting a refused key opens the incident (it used to crash); "Sync now"
    then says why it did not run, without asking Merge."""
    integration = linked(sandbox)
    settings.MERGE_API_KEY = "a-revoked-key"

    poll = monitor.poll_linked_accounts()
    asked = sync(integration, Trigger.ADMIN)

    assert poll.api_key_rejected and PlatformIncident.current(IncidentKind.API_KEY_REJECTED) is not None
    assert asked.status == RunStatus.PAUSED and "API key" in asked.error and asked.requests == 0
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)


def test_relink_integration_meeting_a_refused_api_key_opens_the_incident_and_says_it_is_ours(
    sandbox: Sandbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue item 1: an admin clicking Relink Integration while Merge refuses Skillibrium's API key opens the
    one platform incident (once, logged once at ERROR) and is told plainly that the problem is Skillibrium's
    and being handled; the integration's health is untouched and no one is emailed."""
    integration, admin = link(sandbox, make_org(), sandbox.tenant(size=5))
    mail.outbox.clear()
    settings.MERGE_API_KEY = "a-revoked-key"
    client = Client()
    client.force_login(admin)
    url = reverse("integrations:relink_start", args=[integration.pk])

    with caplog.at_level(logging.ERROR):
        answers = [client.post(url), client.post(url)]

    for answer in answers:
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert "Skillibrium" in error and "not yours" in error and "Invalid token" not in error
    incident = PlatformIncident.objects.get()
    assert (incident.kind, incident.ended_at) == (IncidentKind.API_KEY_REJECTED, None)
    assert [r.levelno for r in caplog.records if "API key" in r.getMessage()] == [logging.ERROR]
    integration.refresh_from_db()
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)
    assert mail.outbox == []


def test_disconnect_and_a_delegated_link_meeting_a_refused_api_key_say_it_is_ours(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Issue item 1: Disconnect and sending a delegated relink link, while Merge refuses our API key,
    open the one incident and tell the admin the problem is Skillibrium's, not theirs; no one is emailed."""
    integration, admin = link(sandbox, make_org(), sandbox.tenant(size=5))
    mail.outbox.clear()
    settings.MERGE_API_KEY = "a-revoked-key"
    client = Client()
    client.force_login(admin)

    sent = client.post(
        reverse("integrations:delegate", args=[integration.pk]),
        {"email": "it@example.com", "days": 3},
        follow=True,
    )
    gone = client.post(
        reverse("integrations:disconnect", args=[integration.pk]),
        {"confirm": integration.provider_name},
        follow=True,
    )

    for answer in (sent, gone):
        [message] = list(answer.context["messages"])
        assert "Skillibrium's problem, not yours" in str(message) and "Invalid token" not in str(message)
    assert PlatformIncident.objects.get().kind == IncidentKind.API_KEY_REJECTED
    assert mail.outbox == []

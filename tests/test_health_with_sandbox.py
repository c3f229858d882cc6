"""Each way a connection breaks, as Merge shows it, and how Skillibrium reacts and recovers."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person
from skillibrium.integrations import monitor
from skillibrium.integrations import relink as relinking
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import DelegationStatus, Integration, PlatformIncident
from skillibrium.merge_client import MergeClient
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus

from .factories import make_org
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def linked(
    sandbox: Sandbox, provider: str = "workday", size: int = 15
) -> tuple[Integration, User, dict[str, str]]:
    tenant = sandbox.tenant(provider=provider, size=size)
    integration, admin = link(sandbox, make_org(), tenant)
    assert sync(integration, Trigger.SETUP).status == RunStatus.SUCCEEDED
    clear_mail()
    return integration, admin, tenant


def relink(
    sandbox: Sandbox, integration: Integration, admin: User, tenant: dict[str, str], password: str
) -> None:
    token = relinking.start_link(
        organization=integration.organization, category=integration.category, email=admin.email
    )
    public = sandbox.complete_link(token, tenant, password)
    relinking.complete_relink(integration=integration, public_token=public, membership=admin.membership)
    integration.refresh_from_db()


@pytest.mark.parametrize(
    ("provider", "break_path", "cause"),
    [
        ("workday", "reset-password", Cause.PASSWORD_RESET),
        ("bamboohr", "expire-credential", Cause.EXPIRED_CREDENTIALS),
        ("hibob", "revoke-permission", Cause.MISSING_PERMISSIONS),
        ("workday", "expire-mfa", Cause.EXPIRED_MFA),
    ],
)
def test_each_credential_break_is_named_and_paused_then_relinked(
    sandbox: Sandbox, provider: str, break_path: str, cause: Cause
) -> None:
    integration, admin, tenant = linked(sandbox, provider)
    broken = sandbox.control("POST", f"tenants/{tenant['id']}/{break_path}")
    sandbox.merge_sync()

    run = sync(integration)

    assert run.status == RunStatus.FAILED
    assert (integration.health, integration.cause) == (Health.RELINK_NEEDED, cause)
    assert integration.merge_issues and integration.merge_issues[0]["id"]
    assert len(sent_mail()) == 1 and "Action required" in sent_mail()[0].subject
    if break_path == "revoke-permission":
        sandbox.control("POST", f"tenants/{tenant['id']}/grant-permission")
    relink(sandbox, integration, admin, tenant, broken.get("password") or tenant["password"])
    assert sync(integration, Trigger.RELINK).status == RunStatus.SUCCEEDED
    assert integration.health == Health.HEALTHY and integration.merge_issues == []
    assert [m.subject for m in sent_mail()][-1].endswith("is syncing again")


def test_wrong_credentials_leave_it_needing_a_relink(sandbox: Sandbox) -> None:
    integration, admin, tenant = linked(sandbox)
    sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")
    sandbox.merge_sync()
    sync(integration)
    token = relinking.start_link(organization=integration.organization, category="hris", email=admin.email)
    with pytest.raises(PermissionError, match="Invalid credentials"):
        sandbox.complete_link(token, tenant, "a-guess")
    integration.refresh_from_db()
    assert integration.health == Health.RELINK_NEEDED


def test_merge_outage_heals_by_itself_without_email(sandbox: Sandbox, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, _, _ = linked(sandbox)
    sandbox.control("POST", "outage", mode="503")
    try:
        failed = sync(integration)
        poll = monitor.poll_linked_accounts()
    finally:
        sandbox.control("DELETE", "outage")

    assert failed.status == RunStatus.FAILED
    assert (integration.health, integration.cause) == (Health.DEGRADED, Cause.MERGE_OUTAGE)
    assert integration.next_sync_at > timezone.now() + dt.timedelta(seconds=30)
    assert poll.merge_down and PlatformIncident.current() is not None
    assert monitor.poll_linked_accounts().checked == 1  # Merge's first answer ended the outage
    assert PlatformIncident.current() is None
    integration.refresh_from_db()
    assert integration.sync_queued == Trigger.SCHEDULE  # the connection it degraded syncs at once
    assert sync(integration).status == RunStatus.SUCCEEDED and integration.health == Health.HEALTHY
    assert sent_mail() == []


def test_an_outage_ends_with_merges_first_answer_not_the_next_poll(sandbox: Sandbox, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, _, _ = linked(sandbox)
    sandbox.control("POST", "outage", mode="503")
    try:
        assert sync(integration).status == RunStatus.FAILED
        assert monitor.poll_linked_accounts().merge_down
        assert not monitor.watch_outage()  # still down: the incident stays open
    finally:
        sandbox.control("DELETE", "outage")
    assert PlatformIncident.current() is not None
    assert sync(integration).status == RunStatus.SUCCEEDED  # any request Merge answers ends it
    assert PlatformIncident.current() is None and integration.health == Health.HEALTHY


def test_the_outage_watch_asks_merge_once_the_outage_is_over(sandbox: Sandbox, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MERGE_RETRY_ATTEMPTS = 1
    integration, _, _ = linked(sandbox)
    sandbox.control("POST", "outage", mode="503")
    try:
        sync(integration)
        monitor.poll_linked_accounts()
    finally:
        sandbox.control("DELETE", "outage")
    assert monitor.watch_outage() and PlatformIncident.current() is None
    integration.refresh_from_db()
    assert integration.sync_queued == Trigger.SCHEDULE


def test_provider_offline_syncs_but_deactivates_no_one_until_it_is_back(sandbox: Sandbox) -> None:
    """Issue item 17: once the provider is back, Merge keeps its issue ongoing for a day; provisioning does
    not wait that out: Merge's own successful sync after the issue's last failure is the evidence."""
    integration, _admin, tenant = linked(sandbox)
    leaver = Person.objects.for_org(integration.organization).filter(user__isnull=False).first()
    assert leaver is not None
    remote_id = leaver.identities.get().remote_id
    sandbox.control("POST", f"tenants/{tenant['id']}/offline")
    sandbox.merge_sync()
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{remote_id}/terminate")

    during = sync(integration)

    assert during.status == RunStatus.SUCCEEDED
    assert (integration.health, integration.cause) == (Health.DEGRADED, Cause.PROVIDER_OUTAGE)
    sandbox.control("POST", f"tenants/{tenant['id']}/online")
    sandbox.merge_sync()
    with MergeClient(category=integration.category) as merge:
        assert merge.ongoing_issues(integration.merge_account_id)  # Merge resolves it only a day later
    after = sync(integration)
    assert integration.health == Health.HEALTHY
    assert after.deactivated == 1 and not User.objects.get(pk=leaver.user_id).is_active
    assert sent_mail() == []


def test_paused_integration_stays_paused_after_relink(sandbox: Sandbox) -> None:
    integration, admin, tenant = linked(sandbox)
    new_password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync(integration)
    Integration.objects.filter(pk=integration.pk).update(is_paused=True)
    integration.refresh_from_db()

    relink(sandbox, integration, admin, tenant, new_password)

    assert integration.is_paused
    assert sync_integration(integration_id=integration.pk, trigger=Trigger.RELINK) is None


def test_fleet_poll_notices_a_broken_account_without_webhooks(sandbox: Sandbox) -> None:
    integration, _, tenant = linked(sandbox)
    sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")
    sandbox.merge_sync()
    assert integration.pk in monitor.poll_linked_accounts().to_sync


def test_delegated_relink_is_tracked_from_sent_to_completed(sandbox: Sandbox) -> None:
    integration, admin, tenant = linked(sandbox)
    new_password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync(integration)
    client = Client()
    client.force_login(admin)

    client.post(
        reverse("integrations:delegate", args=[integration.pk]), {"email": "it@example.com", "days": "7"}
    )

    delegation = integration.delegations.get()
    assert delegation.status == DelegationStatus.SENT
    invite = next(m for m in sent_mail() if m.to == ["it@example.com"])
    assert delegation.token in invite.body and "magic" not in invite.body
    opened = Client().post(reverse("integrations:delegated_open", args=[delegation.token]))
    magic = re.search(r'href="(\S+/link/m/[^"]+)"', opened.content.decode())
    assert opened.status_code == 200 and magic is not None
    link_token = magic.group(1).rsplit("/", 1)[-1]
    sandbox.complete_link(link_token, tenant, new_password)
    monitor.poll_linked_accounts()
    delegation.refresh_from_db()
    integration.refresh_from_db()
    assert delegation.status == DelegationStatus.COMPLETED
    assert integration.health == Health.CATCHING_UP
    assert Client().get(reverse("integrations:delegated_open", args=[delegation.token])).status_code == 410

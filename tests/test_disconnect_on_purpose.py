"""Disconnect on purpose: confirmed, the directory and every user kept through later ticks, no email, no
red banner, the card says who disconnected and when; connecting again matches people, never duplicates."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import monitor
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.notifications.services import send_due_reminders, warn_lasting_degradation, warn_rotations
from skillibrium.provisioning.apply import provision_organization
from skillibrium.provisioning.scope import leavers_waiting
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.tasks import queue_due_syncs

from .factories import make_org, queued_syncs, signed_in
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, provisioned, sync

pytestmark = pytest.mark.django_db

PAGES = ("directory:my_org", "integrations:hris_settings", "integrations:company_integrations")


def _connected(sandbox: Sandbox, seed: int) -> tuple[Integration, User, dict[str, str], Client]:
    tenant = sandbox.tenant(provider="bamboohr", size=6, seed=seed)
    integration, admin = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    return integration, admin, tenant, signed_in(admin)


def _disconnect(client: Client, integration: Integration, confirm: str) -> None:
    answer = client.post(reverse("integrations:disconnect", args=[integration.pk]), {"confirm": confirm})
    assert answer.status_code == 302
    integration.refresh_from_db()


def test_disconnect_needs_the_typed_confirmation_and_changes_nothing_without_it(sandbox: Sandbox) -> None:
    integration, _, _, client = _connected(sandbox, seed=511)

    _disconnect(client, integration, confirm="yes")

    assert integration.health == Health.HEALTHY and integration.disconnected_at is None
    assert client.get(reverse("integrations:edit", args=[integration.pk])).status_code == 200


def test_after_a_disconnect_days_of_ticks_deactivate_nobody_email_nobody_and_show_no_banner(
    sandbox: Sandbox,
) -> None:
    integration, admin, tenant, client = _connected(sandbox, seed=512)
    active = [p.pk for p in provisioned(integration)]
    clear_mail()

    _disconnect(client, integration, confirm=integration.provider_name)
    # The source loses someone meanwhile: with the connection gone, that is no evidence for anything.
    leaver = SourceIdentity.objects.filter(integration=integration).first()
    assert leaver is not None
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{leaver.remote_id}/terminate")
    days_ago = timezone.now() - dt.timedelta(days=9)
    Integration.objects.filter(pk=integration.pk).update(health_changed_at=days_ago, next_sync_at=days_ago)
    queue_due_syncs()
    assert sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE) is None
    monitor.poll_linked_accounts()
    provision_organization(organization_id=integration.organization_id)
    for days in (1, 3, 7, 9):
        send_due_reminders(now=timezone.now() + dt.timedelta(days=days))
    warn_lasting_degradation(leavers_waiting=leavers_waiting)
    warn_rotations()

    integration.refresh_from_db()
    assert queued_syncs(integration) == []
    assert [p.pk for p in provisioned(integration)] == active
    assert [m.subject for m in sent_mail()] == []
    assert (integration.health, integration.cause) == (Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN)
    assert integration.disconnected_by == admin
    for name in PAGES:
        page = client.get(reverse(name)).content.decode()
        assert "banner-danger" not in page and "needs attention" not in page, name
    when = integration.disconnected_at
    assert when is not None
    said = f"Disconnected by {admin.display_name} on "
    for page in (
        client.get(reverse("integrations:hris_settings")).content.decode(),
        client.get(reverse("integrations:company_integrations")).content.decode(),
        client.get(reverse("integrations:edit", args=[integration.pk])).content.decode(),
    ):
        assert said in page
        assert 'class="health health-off"' in page


def test_connecting_the_same_provider_again_after_a_disconnect_duplicates_nobody(sandbox: Sandbox) -> None:
    integration, _, tenant, client = _connected(sandbox, seed=513)
    people = {p.pk: p.user_id for p in Person.objects.for_org(integration.organization)}
    _disconnect(client, integration, confirm=integration.provider_name)

    again, _ = link(sandbox, integration.organization, tenant)
    sync(again, Trigger.SETUP)
    provision_organization(organization_id=again.organization_id)

    assert again.pk == integration.pk and again.health == Health.HEALTHY
    assert (again.cause, again.disconnected_at, again.disconnected_by) == (Cause.NONE, None, None)
    assert {p.pk: p.user_id for p in Person.objects.for_org(again.organization)} == people
    assert SourceIdentity.objects.filter(integration=again).count() == len(people)
    assert [p.pk for p in provisioned(again)] == sorted(people)
    assert "Disconnected by" not in client.get(reverse("integrations:hris_settings")).content.decode()


def test_after_a_disconnect_the_edit_page_offers_connect_not_relink(sandbox: Sandbox) -> None:
    """The linked account is deleted at Merge: relinking it would link a new one past the first-sync review,
    and the relink cards (magic link, password rotation, support) speak of a connection that is gone."""
    integration, _, _, client = _connected(sandbox, seed=514)
    _disconnect(client, integration, confirm=integration.provider_name)

    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    started = client.post(reverse("integrations:relink_start", args=[integration.pk]))

    assert 'id="connect-again"' in page and reverse("integrations:hris_settings") in page
    assert 'id="relink"' not in page and "Merge.dev reported" not in page
    assert "Still not syncing?" not in page
    assert started.status_code == 409 and "Connect it again from HRIS Settings" in started.json()["error"]

"""Connect HRIS and Connect CRM: an admin links the organization's first (or next) source in-app."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import disconnect, relink, review
from skillibrium.integrations.choices import Category, Cause, Health
from skillibrium.integrations.models import Integration
from skillibrium.provisioning import first_sync
from skillibrium.provisioning.tasks import provision_everyone

from .factories import make_org, make_user, queued_syncs, signed_in
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def _start(client: Client, category: str = "hris") -> Any:
    return client.post(reverse("integrations:connect_start", kwargs={"category": category}))


def _connect(client: Client, sandbox: Sandbox, tenant: dict[str, Any], category: str = "hris") -> Any:
    started = _start(client, category)
    assert started.status_code == 200, started.content
    public = sandbox.complete_link(started.json()["link_token"], tenant, pick=True)
    return client.post(
        reverse("integrations:connect_complete", kwargs={"category": category}), {"public_token": public}
    )


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_admin_connects_the_hris_they_pick_in_merge_link_and_its_first_sync_is_queued(
    sandbox: Sandbox,
) -> None:
    organization = make_org()
    admin = make_user(organization, role=Role.ADMIN)
    client = signed_in(admin)
    page = client.get(reverse("integrations:hris_settings")).content.decode()
    assert "Connect HRIS" in page and "No HRIS is connected yet." in page

    response = _connect(client, sandbox, sandbox.tenant(provider="bamboohr", size=8))

    assert response.status_code == 302 and response.url == reverse("integrations:hris_settings")
    integration = Integration.objects.get(organization=organization)
    assert (integration.category, integration.provider_slug) == (Category.HRIS, "bamboohr")
    assert integration.linked_by == admin and integration.health == Health.HEALTHY
    assert len(queued_syncs(integration)) == 1
    entry = AuditEntry.objects.get(organization=organization, action="integration.connected")
    assert entry.actor == admin
    assert any("BambooHR is connected" in text for text in _messages(response))
    page = client.get(reverse("integrations:hris_settings")).content.decode()
    assert "Connect HRIS" not in page
    assert 'src="/static/skillibrium/logos/bamboohr.svg"' in page and 'alt="BambooHR logo"' in page


def test_a_crm_is_connected_from_company_integrations(sandbox: Sandbox) -> None:
    organization = make_org()
    client = signed_in(make_user(organization, role=Role.ADMIN))
    assert "Connect CRM" in client.get(reverse("integrations:company_integrations")).content.decode()

    response = _connect(client, sandbox, sandbox.tenant(provider="hubspot", size=6), "crm")

    assert response.url == reverse("integrations:company_integrations")
    assert Integration.objects.get(organization=organization).provider_slug == "hubspot"
    assert "Connect CRM" not in client.get(reverse("integrations:company_integrations")).content.decode()


def test_members_cannot_connect(sandbox: Sandbox) -> None:
    organization = make_org()
    client = signed_in(make_user(organization, role=Role.MEMBER))
    assert _start(client).status_code == 403
    complete = client.post(
        reverse("integrations:connect_complete", kwargs={"category": "hris"}), {"public_token": "x"}
    )
    assert complete.status_code == 403
    assert not Integration.objects.filter(organization=organization).exists()


def test_one_hris_per_organization_a_second_connect_is_refused_and_changes_nothing(sandbox: Sandbox) -> None:
    organization = make_org()
    integration, admin = link(sandbox, organization, sandbox.tenant(size=5))
    client = signed_in(admin)
    assert _start(client).status_code == 409

    # A public token got round the refused start (another origin's link) is refused on completion too.
    link_token = relink.start_link(organization=make_org(), category="hris", email="x@example.com")
    public = sandbox.complete_link(link_token, sandbox.tenant(provider="hibob", size=5), pick=True)
    response = client.post(
        reverse("integrations:connect_complete", kwargs={"category": "hris"}), {"public_token": public}
    )

    assert any("already has a connected HRIS" in text for text in _messages(response))
    assert Integration.objects.get(organization=organization).merge_account_id == integration.merge_account_id


def test_merge_link_closed_without_a_token_or_a_bad_token_connects_nothing(sandbox: Sandbox) -> None:
    organization = make_org()
    client = signed_in(make_user(organization, role=Role.ADMIN))
    response = client.post(
        reverse("integrations:connect_complete", kwargs={"category": "hris"}), {"public_token": " "}
    )
    assert any("did not return a token" in text for text in _messages(response))
    bad = client.post(
        reverse("integrations:connect_complete", kwargs={"category": "hris"}), {"public_token": "not-a-token"}
    )
    assert any("could not be completed; nothing was changed" in text for text in _messages(bad))
    assert not Integration.objects.filter(organization=organization).exists()


def test_after_a_disconnect_the_same_provider_connects_again_and_people_are_not_duplicated(
    sandbox: Sandbox,
) -> None:
    organization = make_org()
    tenant = sandbox.tenant(provider="bamboohr", size=10)
    integration, admin = link(sandbox, organization, tenant)
    sync(integration)
    people = set(Person.objects.for_org(organization).values_list("pk", flat=True))
    old_account = integration.merge_account_id
    assert disconnect.disconnect(integration=integration, by=admin) == ""
    client = signed_in(admin)
    assert "Connect HRIS" in client.get(reverse("integrations:hris_settings")).content.decode()

    response = _connect(client, sandbox, tenant)

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.merge_account_id != old_account and integration.rekey_from_account == old_account
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)
    assert integration.merge_deletion_requested_at is None and integration.sync_watermark is None
    sync(integration)
    assert set(Person.objects.for_org(organization).values_list("pk", flat=True)) == people
    identities = SourceIdentity.objects.filter(integration=integration)
    assert identities.count() == len(people)
    assert Person.objects.for_org(organization).filter(user__is_active=True).count() > 0


def test_after_a_disconnect_another_provider_with_the_same_people_matches_them_by_work_email(
    sandbox: Sandbox,
) -> None:
    organization = make_org()
    same = {"name": "Switch", "size": 8, "seed": 12, "domain": "switch.example"}
    integration, admin = link(
        sandbox, organization, sandbox.control("POST", "tenants", provider="bamboohr", **same)
    )
    sync(integration)
    people = set(Person.objects.for_org(organization).values_list("pk", flat=True))
    users = set(
        User.objects.filter(membership__organization=organization, is_active=True).values_list(
            "pk", flat=True
        )
    )
    assert disconnect.disconnect(integration=integration, by=admin) == ""

    _connect(signed_in(admin), sandbox, sandbox.control("POST", "tenants", provider="hibob", **same))
    integration.refresh_from_db()
    assert integration.provider_slug == "hibob" and not integration.rekey_from_account
    sync(integration)

    found = first_sync.summary(integration)
    assert (found["people"], found["matched"], found["create"], found["duplicates"]) == (8, 8, 0, 0)
    assert found["matched_by"] == {"already linked": 8, "work email": 0}
    assert set(Person.objects.for_org(organization).values_list("pk", flat=True)) == people
    assert review.confirm(integration=integration, membership=admin.membership, send_invitations=True)
    provision_everyone.call(organization.pk, True)
    active = User.objects.filter(membership__organization=organization, is_active=True)
    assert set(active.values_list("pk", flat=True)) == users
    current = SourceIdentity.objects.filter(integration=integration, superseded=False)
    assert current.count() == len(people) and set(current.values_list("person", flat=True)) == people

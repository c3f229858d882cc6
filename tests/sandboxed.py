"""Helpers for product tests that run against a real Merge sandbox process."""

from typing import Any

import httpx
from django.test import Client

from skillibrium.accounts.models import Organization, Role, User
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import SyncRun

from .factories import make_org, make_user


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def control(self, method: str, path: str, **body: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body or None, timeout=120)
        assert response.status_code < 400, response.text
        return response.json()

    def tenant(
        self, *, provider: str = "workday", size: int = 30, seed: int = 3, people_from: str | None = None
    ) -> dict[str, Any]:
        """`people_from`: an HRIS tenant's id, whose employees a CRM tenant's users are drawn from."""
        drawn = {"people_from": people_from} if people_from else {}
        return dict(
            self.control(
                "POST", "tenants", provider=provider, name=f"{provider} co", size=size, seed=seed, **drawn
            )
        )

    def complete_link(
        self, link_token: str, tenant: dict[str, Any], password: str | None = None, *, pick: bool = False
    ) -> str:
        """With `pick`, the admin chose the tenant's provider in Link (a link token that named none)."""
        body = {
            "tenant": tenant["subdomain"],
            "username": tenant["username"],
            "password": password or tenant["password"],
        } | ({"integration": tenant["provider"]} if pick else {})
        response = httpx.post(f"{self.url}/_sandbox/link/{link_token}/complete", json=body, timeout=60)
        if response.status_code >= 400:
            raise PermissionError(response.json().get("detail"))
        return str(response.json()["public_token"])

    def merge_sync(self) -> Any:
        return self.control("POST", "sync")


def link(
    sandbox: Sandbox,
    organization: Organization,
    tenant: dict[str, Any],
    category: Category = Category.HRIS,
    *,
    review_first_sync: bool = False,
) -> tuple[Integration, User]:
    """Linked as before the first-sync review existed, unless asked: its first sync provisions."""
    admin = make_user(organization, role=Role.ADMIN)
    token = relink.start_link(
        organization=organization, category=category, email=admin.email, integration=tenant["provider"]
    )
    public = sandbox.complete_link(token, tenant)
    integration = relink.connect(
        organization=organization,
        category=category,
        public_token=public,
        membership=admin.membership,
        review_first_sync=review_first_sync,
    )
    return integration, admin


def sync(integration: Integration, trigger: Trigger = Trigger.SCHEDULE) -> SyncRun:
    """A sync that must run (nothing else holds the sync lease); the integration is read again after it."""
    run = sync_integration(integration_id=integration.pk, trigger=trigger)
    assert run is not None
    integration.refresh_from_db()
    return run


def setup(sandbox: Sandbox, size: int = 30) -> tuple[Integration, User, dict[str, str], Client]:
    """A new organization with a tenant of `size` people linked and synced once, and its admin signed in."""
    tenant = sandbox.tenant(size=size)
    integration, admin = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    client = Client()
    client.force_login(admin)
    return integration, admin, tenant, client


def provisioned(integration: Integration) -> list[Person]:
    return list(Person.objects.for_org(integration.organization).filter(user__is_active=True).order_by("pk"))


def people_path(tenant: dict[str, str], person: Person | None = None) -> str:
    """The sandbox control path of a tenant's people, or of one person by their remote id."""
    base = f"tenants/{tenant['id']}/people"
    return f"{base}/{person.identities.get().remote_id}" if person else base


def assert_matches_source(sandbox: Sandbox, integration: Integration, tenant_id: str) -> None:
    """The directory holds exactly the source's records, and exactly its active people have active users."""
    people, after = [], ""
    while True:
        page = sandbox.control("GET", f"tenants/{tenant_id}/people?limit=1000&after={after}")
        people += page["results"]
        if not (after := page["next_after"]):
            break
    identities = SourceIdentity.objects.filter(integration=integration)
    assert identities.count() == len(people)
    assert set(identities.values_list("remote_id", flat=True)) == {p["remote_id"] for p in people}
    assert Person.objects.for_org(integration.organization).count() == len(people)
    active_sources = {p["work_email"] for p in people if p["status"] == "ACTIVE" and not p["deleted"]}
    active_users = set(
        User.objects.filter(
            membership__organization=integration.organization, is_active=True, person__isnull=False
        ).values_list("email", flat=True)
    )
    assert active_users == active_sources

"""A demo organization linked to an HRIS in the local Merge sandbox, the way a customer links one."""

from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import transaction

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.integrations import services
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import AccountGone, MergeClient


@dataclass(frozen=True)
class DemoSeed:
    organization: Organization
    admin_email: str
    member_email: str
    password: str
    integration: Integration
    tenant: dict[str, object]


def sandbox_url() -> str:
    return settings.MERGE_API_URL.removesuffix("/api")


def _user(organization: Organization, email: str, password: str, role: Role, first: str, last: str) -> None:
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email, password, first_name=first, last_name=last
    )
    Membership.objects.get_or_create(user=user, defaults={"organization": organization, "role": role})


def _integration_is_alive(integration: Integration) -> bool:
    try:
        with MergeClient(category=integration.category, account_token=integration.account_token) as client:
            client.account_details()
    except AccountGone:
        return False
    return True


def _link_hris(organization: Organization, admin_email: str, size: int, provider: str) -> dict[str, object]:
    """Create a provider tenant, then link it through Merge's link-token / public-token exchange."""
    control = httpx.Client(base_url=f"{sandbox_url()}/_sandbox/", timeout=120)
    tenant: dict[str, object] = (
        control.post(
            "tenants", json={"provider": provider, "name": organization.name, "size": size, "seed": 7}
        )
        .raise_for_status()
        .json()
    )
    link_token = services.start_link(
        organization=organization, category=Category.HRIS, email=admin_email, integration=provider
    )
    credentials = {k: tenant[k] for k in ("username", "password")} | {"tenant": tenant["subdomain"]}
    public_token = control.post(f"link/{link_token}/complete", json=credentials).raise_for_status().json()
    services.connect(
        organization=organization,
        category=Category.HRIS,
        public_token=public_token["public_token"],
        membership=None,
    )
    return tenant


def seed_demo(*, size: int = 300, provider: str = "workday", password: str = "skillibrium-demo") -> DemoSeed:  # noqa: S107 - demo only
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name="Acme Corporation")
        admin_email, member_email = "admin@acme.example", "member@acme.example"
        _user(organization, admin_email, password, Role.ADMIN, "Ada", "Admin")
        _user(organization, member_email, password, Role.MEMBER, "Max", "Member")
    integration = Integration.objects.filter(organization=organization, category=Category.HRIS).first()
    tenant: dict[str, object] = {}
    if integration is None or not _integration_is_alive(integration):
        tenant = _link_hris(organization, admin_email, size, provider)
        integration = Integration.objects.get(organization=organization, category=Category.HRIS)
    return DemoSeed(organization, admin_email, member_email, password, integration, tenant)

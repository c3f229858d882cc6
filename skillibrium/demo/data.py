"""A demo organization linked to an HRIS in the local Merge sandbox, the way a customer links one."""

from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import transaction

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration, client_for
from skillibrium.merge_client import AccountGone


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
        with client_for(integration) as client:
            client.account_details()
    except AccountGone:
        return False
    return True


def _link(
    organization: Organization, admin_email: str, *, category: Category, provider: str, size: int
) -> dict[str, object]:
    """Create a provider tenant, then link it through Merge's link-token / public-token exchange."""
    control = httpx.Client(base_url=f"{sandbox_url()}/_sandbox/", timeout=300)
    body = {"provider": provider, "name": organization.name, "size": size, "seed": 7}
    tenant: dict[str, object] = control.post("tenants", json=body).raise_for_status().json()
    link_token = relink.start_link(
        organization=organization, category=category, email=admin_email, integration=provider
    )
    credentials = {k: tenant[k] for k in ("username", "password")} | {"tenant": tenant["subdomain"]}
    public_token = control.post(f"link/{link_token}/complete", json=credentials).raise_for_status().json()
    relink.connect(
        organization=organization,
        category=category,
        public_token=public_token["public_token"],
        membership=None,
        review_first_sync=False,  # the demo's people are provisioned by its first sync, as they always were
        replace_connected=True,  # a seed run again, after the sandbox lost its account
    )
    return tenant


DEMO_PASSWORD = "skillibrium-demo"  # noqa: S105 - the demo's published sign-in


def seed_demo(
    *, size: int = 300, provider: str = "workday", crm: str = "salesforce", password: str = DEMO_PASSWORD
) -> DemoSeed:
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name="Acme Corporation")
        admin_email, member_email = "admin@acme.example", "member@acme.example"
        _user(organization, admin_email, password, Role.ADMIN, "Ada", "Admin")
        _user(organization, member_email, password, Role.MEMBER, "Max", "Member")
    tenants: dict[str, dict[str, object]] = {}
    for category, slug, people in ((Category.HRIS, provider, size), (Category.CRM, crm, max(10, size // 6))):
        integration = Integration.objects.filter(organization=organization, category=category).first()
        if slug and (integration is None or not _integration_is_alive(integration)):
            tenants[category] = _link(
                organization, admin_email, category=category, provider=slug, size=people
            )
    hris = Integration.objects.get(organization=organization, category=Category.HRIS)
    return DemoSeed(organization, admin_email, member_email, password, hris, tenants.get(Category.HRIS, {}))

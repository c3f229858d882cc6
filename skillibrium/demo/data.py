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


def _control(sandbox: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{sandbox or sandbox_url()}/_sandbox/", timeout=300)


def _tenant_of(integration: Integration) -> str:
    """The sandbox tenant behind an integration's linked account."""
    with _control() as control:
        accounts = control.get("linked-accounts").raise_for_status().json()["results"]
    return next(str(a["tenant_id"]) for a in accounts if a["id"] == integration.merge_account_id)


def _link(
    organization: Organization,
    admin_email: str,
    *,
    category: Category,
    provider: str,
    size: int,
    people_from: str | None = None,
) -> dict[str, object]:
    """Create a provider tenant, then link it through Merge's link-token / public-token exchange.
    `people_from`: the HRIS tenant whose employees a CRM's users are, as a company's CRM users are."""
    control = _control()
    body = {"provider": provider, "name": organization.name, "size": size, "seed": 7}
    body |= {"people_from": people_from} if people_from else {}
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
DEMO_ORGANIZATION, ADMIN_EMAIL, MEMBER_EMAIL = "Acme Corporation", "admin@acme.example", "member@acme.example"


@dataclass(frozen=True)
class SyncUser:
    """A provider tenant's sync user: what an admin types into Merge Link to relink."""

    category: str
    provider: str
    tenant: str
    username: str
    password: str


def sync_users(organization: Organization, *, sandbox: str | None = None) -> list[SyncUser]:
    """Each integration's tenant and sync user as the sandbox has them now (a password reset changes them)."""
    integrations = organization.integrations.order_by("-category")  # HRIS, then CRM
    with _control(sandbox) as control:
        accounts = control.get("linked-accounts").raise_for_status().json()["results"]
        tenant_of = {str(a["id"]): str(a["tenant_id"]) for a in accounts}
        users = []
        for integration in integrations:
            if integration.merge_account_id not in tenant_of:
                continue
            tenant = (
                control.get(f"tenants/{tenant_of[integration.merge_account_id]}").raise_for_status().json()
            )
            users.append(
                SyncUser(
                    category=integration.get_category_display(),
                    provider=integration.provider_name,
                    tenant=tenant["subdomain"],
                    username=tenant["username"],
                    password=tenant["password"],
                )
            )
    return users


def seed_demo(
    *, size: int = 300, provider: str = "workday", crm: str = "salesforce", password: str = DEMO_PASSWORD
) -> DemoSeed:
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name=DEMO_ORGANIZATION)
        admin_email, member_email = ADMIN_EMAIL, MEMBER_EMAIL
        _user(organization, admin_email, password, Role.ADMIN, "Ada", "Admin")
        _user(organization, member_email, password, Role.MEMBER, "Max", "Member")
    hris_tenant: dict[str, object] = {}
    if not _linked(organization, Category.HRIS):
        hris_tenant = _link(organization, admin_email, category=Category.HRIS, provider=provider, size=size)
    hris = Integration.objects.get(organization=organization, category=Category.HRIS)
    if crm and not _linked(organization, Category.CRM):
        # The CRM's users are some of the HRIS's people, as in a company: each human is one person in My Org.
        people_from = str(hris_tenant["id"]) if hris_tenant else _tenant_of(hris)
        crm_size = min(size, max(10, size // 6))
        _link(
            organization,
            admin_email,
            category=Category.CRM,
            provider=crm,
            size=crm_size,
            people_from=people_from,
        )
    return DemoSeed(organization, admin_email, member_email, password, hris, hris_tenant)


def _linked(organization: Organization, category: Category) -> bool:
    """Whether the organization has an integration of this category whose linked account the sandbox still
    has (a sandbox started afresh has none)."""
    integration = Integration.objects.filter(organization=organization, category=category).first()
    return integration is not None and _integration_is_alive(integration)

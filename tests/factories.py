"""Plain typed factory functions for the product's models, and the few steps many tests take with them."""

import base64
import functools
import hashlib
import hmac
import itertools

import orjson
from django.conf import settings
from django.test import Client
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Membership, Organization, Role, SSOConfiguration, SSODomain, User
from skillibrium.accounts.saml import new_service_provider_keys
from skillibrium.integrations.choices import Category, Health
from skillibrium.integrations.models import Integration

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_org(name: str = "") -> Organization:
    return Organization.objects.create(name=name or f"Org {next(_seq)}")


def make_user(organization: Organization, *, role: Role = Role.MEMBER, email: str = "") -> User:
    user = User.objects.create_user(email or f"user{next(_seq)}@example.com", PASSWORD)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def make_integration(
    organization: Organization, *, category: Category = Category.HRIS, health: Health = Health.HEALTHY
) -> Integration:
    n = next(_seq)
    return Integration.objects.create(
        organization=organization,
        category=category,
        provider_slug="workday" if category == Category.HRIS else "salesforce",
        provider_name="Workday" if category == Category.HRIS else "Salesforce",
        merge_account_id=f"account-{n}",
        account_token=f"token-{n}",
        health=health,
    )


def signed_in(user: User) -> Client:
    """A test client with `user` signed in."""
    client = Client()
    client.force_login(user)
    return client


def with_second_factor(client: Client, user: User) -> Client:
    """`user` gets an authenticator app, and the client's session counts as signed in with its code (as
    allauth records a sign-in that asked for one): what the staff admin asks of staff."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator
    from django.test import RequestFactory

    from skillibrium.core import crypto

    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt("JBSWY3DPEHPK3PXP")}
    )
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "mfa", type="totp")
    request.session.save()
    return client


def queued_syncs(integration: Integration | None = None) -> list[DBTaskResult]:
    """The syncs waiting in the task queue, of one integration or of all, oldest first."""
    tasks = DBTaskResult.objects.ready().filter(task_path__endswith=".sync_linked_account")
    return [
        task
        for task in tasks.order_by("enqueued_at")
        if integration is None or task.args_kwargs["args"][0] == integration.pk
    ]


def merge_signature(raw: bytes, key: str | None = None) -> str:
    """As Merge signs a webhook: HMAC-SHA256 of the raw body, URL-safe base64 without padding."""
    secret = (key or settings.MERGE_WEBHOOK_KEY).encode()
    return base64.urlsafe_b64encode(hmac.new(secret, raw, hashlib.sha256).digest()).rstrip(b"=").decode()


def signed(body: dict[str, object]) -> tuple[bytes, str]:
    """A webhook body as Merge sends it, and its signature with the configured key."""
    raw = orjson.dumps(body)
    return raw, merge_signature(raw)


@functools.cache
def _test_keys() -> tuple[str, str]:
    """One RSA key pair for every test configuration: generating one costs a tenth of a second."""
    return new_service_provider_keys(common_name="test")


def make_sso(
    organization: Organization,
    *,
    protocol: str = "saml",
    domains: tuple[str, ...] = (),
    require_sso: bool = False,
    break_glass: User | None = None,
) -> SSOConfiguration:
    """A usable SSO configuration; SAML with a generated identity-provider certificate, or OIDC."""
    key, certificate = _test_keys()
    configuration = SSOConfiguration.objects.create(
        organization=organization,
        protocol=protocol,
        is_enabled=True,
        oidc_issuer="http://127.0.0.1:9",  # nothing listens there: refused at once, never a DNS wait
        oidc_client_id=f"client-{organization.pk}",
        oidc_client_secret="oidc-client-secret-value",
        saml_idp_entity_id=f"https://idp.example/{organization.pk}",
        saml_idp_sso_url="https://idp.example/sso",
        saml_idp_certificate=certificate,
        saml_sp_private_key=key,
        saml_sp_certificate=certificate,
        require_sso=require_sso,
        break_glass_admin=break_glass,
    )
    for domain in domains:
        SSODomain.objects.create(configuration=configuration, domain=domain)
    return configuration

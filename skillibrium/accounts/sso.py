"""Single sign-on per organization: find it by email domain, hand allauth its app, and decide who signs in.

Whoever the identity provider vouches for, the person signed in is the existing, active user with that email
in the identity provider's own organization: never a new user, never a user of another organization.
"""

from typing import Any

from allauth.socialaccount.models import SocialApp
from django.db import transaction
from django.db.models import Q

from skillibrium.core.models import record

from .models import Membership, Organization, SSOConfiguration, SSODomain, SSOProtocol, User
from .saml import new_service_provider_keys

# Where identity providers commonly put the email; NameID in emailAddress format is used when none is sent.
SAML_EMAIL_ATTRIBUTES = [
    "email",
    "mail",
    "Email",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
]


class SSORefused(Exception):
    """A sign-in the identity provider allowed but Skillibrium does not; the message is shown to them."""


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower().rstrip(".")


def configuration_for_email(*, email: str) -> SSOConfiguration | None:
    domains = SSODomain.objects.select_related("configuration__organization")
    found = domains.filter(domain=email_domain(email)).first()
    if found is None or not found.configuration.is_usable:
        return None
    return found.configuration


def configuration_of(app: SocialApp) -> SSOConfiguration:
    return SSOConfiguration.objects.select_related("organization").get(pk=app.settings["configuration_id"])


def _oidc_app(configuration: SSOConfiguration) -> SocialApp:
    return SocialApp(
        provider="openid_connect",
        provider_id=configuration.provider_id,
        name=configuration.label,
        client_id=configuration.oidc_client_id,
        secret=configuration.oidc_client_secret,
        settings={
            "configuration_id": configuration.pk,
            "server_url": configuration.oidc_issuer,
            "oauth_pkce_enabled": True,
            # The specification's default, and the one Okta, Entra ID and Google all accept.
            "token_auth_method": "client_secret_basic",
        },
    )


def _saml_app(configuration: SSOConfiguration) -> SocialApp:
    return SocialApp(
        provider="saml",
        provider_id=configuration.provider_id,
        name=configuration.label,
        client_id=configuration.slug,
        settings={
            "configuration_id": configuration.pk,
            "idp": {
                "entity_id": configuration.saml_idp_entity_id,
                "sso_url": configuration.saml_idp_sso_url,
                "x509cert": configuration.saml_idp_certificate,
            },
            "attribute_mapping": {"email": SAML_EMAIL_ATTRIBUTES},
            "advanced": {
                "strict": True,
                "want_assertion_signed": True,
                "authn_request_signed": True,
                "private_key": configuration.saml_sp_private_key,
                "x509cert": configuration.saml_sp_certificate,
                "reject_idp_initiated_sso": True,
                "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            },
        },
    )


def social_apps(*, provider: str | None = None, client_id: str | None = None) -> list[SocialApp]:
    """allauth's apps, built from the enabled configurations; allauth's own SocialApp table is not used."""
    configurations = SSOConfiguration.objects.filter(is_enabled=True).select_related("organization")
    if provider and provider not in {"openid_connect", "saml"}:
        protocol, _, slug = provider.partition("-")
        configurations = configurations.filter(protocol=protocol, slug=slug)
    elif provider:
        configurations = configurations.filter(
            protocol=SSOProtocol.OIDC if provider == "openid_connect" else SSOProtocol.SAML
        )
    if client_id:
        saml = Q(protocol=SSOProtocol.SAML, slug=client_id)
        configurations = configurations.filter(saml | Q(protocol=SSOProtocol.OIDC, oidc_client_id=client_id))
    return [
        _oidc_app(c) if c.protocol == SSOProtocol.OIDC else _saml_app(c)
        for c in configurations
        if c.is_usable
    ]


def user_for_sign_in(*, configuration: SSOConfiguration, email: str) -> User:
    """The person this identity provider may sign in, or SSORefused saying why not."""
    email = email.strip().lower()
    if not email:
        raise SSORefused("Your identity provider did not send an email address.")
    membership = (
        Membership.objects.select_related("user")
        .filter(organization_id=configuration.organization_id, user__email__iexact=email)
        .first()
    )
    if membership is None:
        raise SSORefused(
            f"There is no Skillibrium account for {email} in {configuration.organization.name}. "
            "Ask your administrator to add you."
        )
    if not membership.user.is_active:
        raise SSORefused("This Skillibrium account is deactivated. Ask your administrator.")
    return membership.user


def password_sign_in_refusal(*, user: User) -> str | None:
    """Why this person may not sign in with a password, if their organization requires SSO."""
    configuration = SSOConfiguration.objects.filter(
        organization__memberships__user=user, require_sso=True
    ).first()
    if configuration is None or not configuration.is_usable:
        return None
    if configuration.break_glass_admin_id == user.pk:
        return None
    return f"{configuration.organization.name} signs in with single sign-on. Use “Sign in with SSO”."


def configuration_for(*, organization: Organization) -> SSOConfiguration:
    configuration, _ = SSOConfiguration.objects.get_or_create(organization=organization)
    return configuration


@transaction.atomic
def save_configuration(
    *, configuration: SSOConfiguration, domains: list[str], actor: User, changed: list[str]
) -> SSOConfiguration:
    if configuration.protocol == SSOProtocol.SAML and not configuration.saml_sp_private_key:
        key, certificate = new_service_provider_keys(common_name=f"Skillibrium {configuration.slug}")
        configuration.saml_sp_private_key, configuration.saml_sp_certificate = key, certificate
    configuration.save()
    configuration.domains.exclude(domain__in=domains).delete()
    for domain in domains:
        SSODomain.objects.get_or_create(configuration=configuration, domain=domain)
    record(
        organization_id=configuration.organization_id,
        actor_id=actor.pk,
        action="sso.configured",
        target=configuration.label,
        fields=sorted(changed),
        enabled=configuration.is_enabled,
    )
    return configuration


def domain_claimed_elsewhere(*, domain: str, organization: Organization) -> str | None:
    """A domain belongs to one organization: refuse one claimed by another, or used by another's people."""
    if SSODomain.objects.filter(domain=domain).exclude(configuration__organization=organization).exists():
        return f"{domain} is already used for single sign-on by another organization."
    others = Membership.objects.exclude(organization=organization)
    if others.filter(user__email__iendswith=f"@{domain}").exists():
        return f"People outside your organization have {domain} addresses; it cannot be used here."
    return None


def sso_context(configuration: SSOConfiguration, request: Any) -> dict[str, str]:
    """What the admin registers at the identity provider."""
    from django.urls import reverse

    def absolute(name: str, **kwargs: str) -> str:
        return str(request.build_absolute_uri(reverse(name, kwargs=kwargs)))

    return {
        "oidc_redirect_uri": absolute("openid_connect_callback", provider_id=f"oidc-{configuration.slug}"),
        "saml_acs_url": absolute("saml_acs", organization_slug=configuration.slug),
        "saml_entity_id": absolute("saml_metadata", organization_slug=configuration.slug),
    }

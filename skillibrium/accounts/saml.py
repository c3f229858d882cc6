"""SAML 2.0 specifics: an identity provider's metadata, our signing keys, and one use per assertion."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.providers.saml.provider import SAMLProvider
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.cache import cache
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser


class MetadataError(ValueError):
    pass


@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    sso_url: str
    certificate: str


def parse_metadata(*, xml: str = "", url: str = "") -> IdentityProvider:
    """The identity provider's entity id, HTTP-Redirect sign-in URL and signing certificate."""
    try:
        if url:
            parsed = OneLogin_Saml2_IdPMetadataParser.parse_remote(url, timeout=10)
        else:
            parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as error:  # the parser raises bare Exceptions, URLErrors and XML errors alike
        raise MetadataError(f"The metadata could not be read: {error}") from None
    idp: dict[str, Any] = parsed.get("idp", {})
    certificate = idp.get("x509cert") or next(iter(idp.get("x509certMulti", {}).get("signing", [])), "")
    sso_url = idp.get("singleSignOnService", {}).get("url", "")
    if not (idp.get("entityId") and sso_url and certificate):
        raise MetadataError("The metadata has no entity id, sign-in URL or signing certificate.")
    return IdentityProvider(entity_id=idp["entityId"], sso_url=sso_url, certificate=certificate)


def new_service_provider_keys(*, common_name: str) -> tuple[str, str]:
    """A private key and a ten-year self-signed certificate (PEM) that sign our authentication requests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _seconds_left(not_on_or_after: int | None) -> int:
    if not not_on_or_after:
        return 3600
    return max(60, int(not_on_or_after - timezone.now().timestamp()) + 60)


class OrganizationSAMLProvider(SAMLProvider):  # type: ignore[misc]
    """allauth's SAML provider; an assertion is also accepted only once, even by another browser session."""

    package = "allauth.socialaccount.providers.saml"

    def sociallogin_from_response(self, request: HttpRequest, response: Any) -> Any:
        assertion_id = response.get_last_assertion_id()
        key = f"saml-assertion:{self.app.client_id}:{assertion_id}"
        if not assertion_id or not cache.add(
            key, True, timeout=_seconds_left(response.get_last_assertion_not_on_or_after())
        ):
            raise ImmediateHttpResponse(
                render(
                    request,
                    "socialaccount/authentication_error.html",
                    {"reason": "This sign-in response was already used. Please sign in again."},
                    status=403,
                )
            )
        return super().sociallogin_from_response(request, response)


provider_classes = [OrganizationSAMLProvider]

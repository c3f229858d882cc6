from typing import Any

from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter


class VerifiedOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):  # type: ignore[misc]
    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        """allauth trusts a token fetched over TLS unsigned; we check the signature against the issuer's keys
        as well, so that a token signed by anyone else is refused whatever the transport."""
        data: dict[str, Any] = jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )
        return data


class VerifiedOpenIDConnectProvider(OpenIDConnectProvider):  # type: ignore[misc]
    # Our login and callback views (same URL names and paths), which use the verifying adapter.
    package = "skillibrium.accounts.oidc"
    oauth2_adapter_class = VerifiedOpenIDConnectAdapter

    def get_default_scope(self) -> list[str]:
        return ["openid", "email", "profile"]


provider_classes = [VerifiedOpenIDConnectProvider]

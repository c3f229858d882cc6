"""Name the cause of a broken connection in the help article's words, from what Merge reports."""

from dataclasses import dataclass

from .choices import Cause

# Matched in order against Merge's issue error_description and the linked account's status_detail.
_PATTERNS: list[tuple[Cause, tuple[str, ...]]] = [
    (Cause.EXPIRED_MFA, ("multi-factor", "mfa", "two-factor", "2fa")),
    (Cause.MISSING_PERMISSIONS, ("permission", "scope", "not authorized", "access denied")),
    (
        Cause.EXPIRED_CREDENTIALS,
        ("expired api", "expired credential", "api key", "token expired", "expired token"),
    ),
    (Cause.PASSWORD_RESET, ("invalid login", "invalid credential", "password", "login credentials")),
    (Cause.PROVIDER_OUTAGE, ("offline", "unavailable", "third party", "third-party", "outage")),
]


def classify(*texts: str) -> Cause:
    joined = " ".join(texts).lower()
    for cause, needles in _PATTERNS:
        if any(needle in joined for needle in needles):
            return cause
    return Cause.OTHER


@dataclass(frozen=True)
class Explanation:
    what_happened: str
    what_it_means: str
    what_to_do: str


EXPLANATIONS: dict[Cause, Explanation] = {
    Cause.EXPIRED_CREDENTIALS: Explanation(
        "The API key or access token that connects your provider to Merge.dev has expired.",
        "Provisioning and data sync are paused. Nobody is added, changed or deactivated until you relink.",
        "An admin relinks the integration with a current API key or sync user credentials.",
    ),
    Cause.PASSWORD_RESET: Explanation(
        "Your provider rejected the stored sign-in of the service account or sync user: its password was "
        "changed or reset (a password expiration policy or a manual reset by an IT administrator).",
        "Provisioning and data sync are paused. Nobody is added, changed or deactivated until you relink.",
        "An admin relinks the integration and signs in with the sync user's new password.",
    ),
    Cause.MERGE_OUTAGE: Explanation(
        "Merge.dev, the service that connects Skillibrium to your provider, is not answering.",
        "Your directory stays as it was at the last successful sync; no one is deactivated meanwhile.",
        "Nothing you do can help until Merge.dev answers again, relinking included: Skillibrium retries "
        "automatically and catches up once Merge.dev is back.",
    ),
    Cause.PROVIDER_OUTAGE: Explanation(
        "Your provider is not answering Merge.dev right now.",
        "Your directory stays as it was at the last successful sync; no one is deactivated meanwhile.",
        "No action is needed: the connection heals by itself once the provider is back.",
    ),
    Cause.MISSING_PERMISSIONS: Explanation(
        "The sync user no longer has a permission the integration needs.",
        "Provisioning and data sync are paused until the permission is back and the integration relinked.",
        "Your provider's administrator grants the permission back; then an admin relinks the integration.",
    ),
    Cause.EXPIRED_MFA: Explanation(
        "The multi-factor authentication session of the sync user has expired.",
        "Provisioning and data sync are paused until you relink.",
        "An admin relinks the integration and completes the multi-factor prompt.",
    ),
    Cause.ACCOUNT_DELETED: Explanation(
        "The linked account was deleted at Merge.dev or its token is no longer valid.",
        "Provisioning and data sync are stopped. The people already synced are kept.",
        "An admin connects the provider again.",
    ),
    Cause.DISCONNECTED_BY_ADMIN: Explanation(
        "An admin disconnected the integration on purpose.",
        "Provisioning and data sync are stopped. The people already synced are kept.",
        "Nothing, unless you want it back: then an admin connects the provider again.",
    ),
    Cause.OTHER: Explanation(
        "Merge.dev reported a problem with this connection.",
        "Provisioning and data sync are paused until it is resolved.",
        "An admin relinks the integration; if that does not help, contact support.",
    ),
}


def explain(cause: str) -> Explanation | None:
    return EXPLANATIONS.get(Cause(cause)) if cause else None

"""`manage.py check --deploy` refuses a production configuration that would weaken secrets at rest or
reuse the sandbox's Merge keys."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

SANDBOX_MERGE_KEYS = {"sandbox-production-key", "sandbox-test-key", "sandbox-webhook-key"}


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.ENVIRONMENT != "production":
        return []
    errors: list[CheckMessage] = []
    if not settings.FIELD_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "SKILLIBRIUM_ENCRYPTION_KEYS is not set: secrets at rest would depend on the secret key.",
                hint="Generate one with `manage.py rotate_encryption_keys --generate`.",
                id="skillibrium.E001",
            )
        )
    if settings.MERGE_API_KEY in SANDBOX_MERGE_KEYS or settings.MERGE_WEBHOOK_KEY in SANDBOX_MERGE_KEYS:
        errors.append(
            Error(
                "Production uses the sandbox's Merge keys.",
                hint="Set MERGE_API_KEY and MERGE_WEBHOOK_KEY to the production keys from Merge's dashboard.",
                id="skillibrium.E002",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        errors.append(
            Error("SKILLIBRIUM_SITE_URL must be an https:// address in production.", id="skillibrium.E003")
        )
    return errors

"""Secrets stay out of error pages, error emails and logs, including from code that forgets to say so."""

import logging
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# Names of settings, local variables and POST fields whose values are never shown.
SENSITIVE_NAME = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CREDENTIAL|DATABASE_URL|REDIS_URL|PRIVATE|SAMLRESPONSE",
    flags=re.IGNORECASE,
)
MASK = "********************"


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings by name and only the variables a view marks as sensitive. This one also
    hides any local variable or POST field whose name looks secret (`account_token`, `client_secret`, …)."""

    hidden_settings = SENSITIVE_NAME

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is None or not params:
            return params
        cleansed = params.copy()
        for name in cleansed:
            if SENSITIVE_NAME.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if SENSITIVE_NAME.search(name) else value)
            for name, value in variables
        ]


def configured_secrets() -> list[str]:
    values = [
        settings.SECRET_KEY,
        settings.MERGE_API_KEY,
        settings.MERGE_WEBHOOK_KEY,
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    return [v for v in values if len(v) >= 8]


BEARER = re.compile(r"(?i)(bearer\s+|x-account-token[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str) -> str:
    """Configured keys and bearer/account tokens in a text become a mask."""
    redacted = BEARER.sub(lambda m: m.group(1) + MASK, text)
    for secret in configured_secrets():
        redacted = redacted.replace(secret, MASK)
    return redacted


class RedactSecretsFilter(logging.Filter):
    """The last line of defence for logs: configured keys and bearer/account tokens become a mask."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def scrub_error_report(event: Any, hint: Any = None) -> Any:
    """Sentry's `before_send`: the same rules as error pages and logs, applied to everything an event carries
    (request headers and data, local variables, breadcrumbs, messages): a value under a secret-looking name
    is masked, and keys or tokens inside any text are redacted."""

    def scrub(value: Any, name: str = "") -> Any:
        if name and SENSITIVE_NAME.search(name) and isinstance(value, str | bytes | int | float):
            return MASK
        if isinstance(value, dict):  # under a secret-looking name (cookies), everything inside is secret
            secret = bool(name) and bool(SENSITIVE_NAME.search(name))
            return {key: scrub(item, name if secret else str(key)) for key, item in value.items()}
        if isinstance(value, list | tuple):
            # Headers and cookies arrive as [name, value] pairs.
            if len(value) == 2 and isinstance(value[0], str) and SENSITIVE_NAME.search(value[0]):
                return [value[0], MASK]
            return [scrub(item, name) for item in value]
        if isinstance(value, str):
            return redact(value)
        return value

    return scrub(event)

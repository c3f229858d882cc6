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


class RedactSecretsFilter(logging.Filter):
    """The last line of defence for logs: configured keys and bearer/account tokens become a mask."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = BEARER.sub(lambda m: m.group(1) + MASK, message)
        for secret in configured_secrets():
            redacted = redacted.replace(secret, MASK)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True

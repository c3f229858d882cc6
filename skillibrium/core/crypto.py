"""Secrets at rest (Merge account tokens, SSO client secrets, SAML keys) are Fernet-encrypted with keys from
the environment. The first key encrypts; every key decrypts, so a new key goes in front and
`rotate_encryption_keys` re-encrypts everything under it before the old key is dropped (docs/security.md)."""

import base64
import functools
from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables


def _keys() -> list[str]:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        # Local use only: a key derived from SECRET_KEY; production sets SKILLIBRIUM_ENCRYPTION_KEYS.
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"skillibrium-fields")
        keys = [base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode())).decode()]
    return keys


@functools.cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


@functools.cache
def _primary() -> Fernet:
    return Fernet(_keys()[0])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "SECRET_KEY"}:
        _fernet.cache_clear()
        _primary.cache_clear()


@sensitive_variables("value")
def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


@sensitive_variables()
def decrypt(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored secret cannot be decrypted with the configured keys.") from None


def rotate(value: str) -> str:
    """Re-encrypt a stored ciphertext under the first (newest) key."""
    return _fernet().rotate(value.encode()).decode()


def is_under_primary_key(value: str) -> bool:
    try:
        _primary().decrypt(value.encode())
    except InvalidToken:
        return False
    return True


def generate_key() -> str:
    return Fernet.generate_key().decode()


class EncryptedTextField(models.TextField[str, str]):
    def from_db_value(self, value: str | None, *args: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))


# Secrets inside JSON columns of other libraries' models, encrypted through their adapters: allauth's TOTP
# secrets and recovery-code seeds (skillibrium.accounts.adapter.MFAAdapter).
ENCRYPTED_JSON_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mfa.Authenticator": ("data", ("secret", "seed"))
}


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted column in the project, including ones added later: rotation must miss none."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field

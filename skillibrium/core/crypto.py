"""Secrets at rest (Merge account tokens and the like) are Fernet-encrypted with keys from the environment."""

import base64
import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        # Local use only: a key derived from SECRET_KEY; production sets SKILLIBRIUM_ENCRYPTION_KEYS.
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"skillibrium-fields")
        keys = [base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode())).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored secret cannot be decrypted with the configured keys.") from None


def rotate(value: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return _fernet().rotate(value.encode()).decode()


class EncryptedTextField(models.TextField[str, str]):
    def from_db_value(self, value: str | None, *args: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))

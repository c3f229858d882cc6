"""Secrets at rest: no table holds a Merge account token, an SSO secret, a SAML key or a TOTP secret in clear
text, and rotating the encryption key re-encrypts them all while every integration keeps syncing."""

from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Organization, SSOConfiguration
from skillibrium.core import crypto
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus

from .factories import make_org, make_sso
from .rawdb import raw, tables_holding
from .sandboxed import Sandbox, link

pytestmark = pytest.mark.django_db


def link_both(sandbox: Sandbox, organization: Organization) -> list[Integration]:
    hris, admin = link(sandbox, organization, sandbox.tenant(provider="workday", size=8))
    crm, _ = link(sandbox, organization, sandbox.tenant(provider="hubspot", size=6), Category.CRM)
    TOTP.activate(admin, generate_totp_secret())
    RecoveryCodes.activate(admin)
    return [hris, crm]


def sync_succeeds(integration: Integration) -> bool:
    run = sync_integration(integration_id=integration.pk, trigger=Trigger.ADMIN)
    return run is not None and run.status == RunStatus.SUCCEEDED


def mfa_secrets() -> list[str]:
    return [
        crypto.decrypt(value)
        for data in Authenticator.objects.values_list("data", flat=True)
        for key, value in data.items()
        if key in ("secret", "seed")
    ]


def test_no_table_holds_a_secret_in_clear_text(sandbox: Sandbox, settings: Settings) -> None:
    org = make_org()
    integrations = link_both(sandbox, org)
    assert all(sync_succeeds(i) for i in integrations)
    configuration = make_sso(org, protocol="oidc")
    private_key_line = configuration.saml_sp_private_key.splitlines()[1]
    secrets = [
        *(Integration.objects.get(pk=i.pk).account_token for i in integrations),
        configuration.oidc_client_secret,
        private_key_line,
        *mfa_secrets(),
        settings.MERGE_API_KEY,
        settings.MERGE_WEBHOOK_KEY,
    ]

    assert len(secrets) == 8 and all(len(s) >= 16 for s in secrets)
    assert "integrations_integration" in tables_holding(integrations[0].merge_account_id)
    assert {secret[:6]: tables_holding(secret) for secret in secrets} == {s[:6]: set() for s in secrets}
    stored = raw(Integration, integrations[0].pk, "account_token")
    assert crypto.decrypt(stored) == secrets[0] != stored


def test_every_encrypted_column_is_known_to_rotation() -> None:
    columns = {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_fields()}
    assert columns == {
        "integrations.Integration.account_token",
        "integrations.Replacement.account_token",
        "integrations.RetiredAccount.account_token",
        "integrations.DelegatedRelink.magic_link_url",
        "notifications.OutboxEmail.body",
        "accounts.SSOConfiguration.oidc_client_secret",
        "accounts.SSOConfiguration.saml_sp_private_key",
    }


def stored_ciphertexts(integrations: list[Integration], configuration: SSOConfiguration) -> list[str]:
    tokens = [raw(Integration, i.pk, "account_token") for i in integrations]
    sso = [raw(SSOConfiguration, configuration.pk, c) for c in ("oidc_client_secret", "saml_sp_private_key")]
    mfa = [v for data in Authenticator.objects.values_list("data", flat=True) for v in data.values()]
    return [*tokens, *sso, *[v for v in mfa if isinstance(v, str)]]


def rotate(*options: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *options, stdout=out)
    return out.getvalue()


def test_rotating_the_key_keeps_every_integration_syncing(sandbox: Sandbox, settings: Settings) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    org = make_org()
    integrations = link_both(sandbox, org)
    configuration = make_sso(org)
    tokens = [Integration.objects.get(pk=i.pk).account_token for i in integrations]
    secrets = mfa_secrets()
    before = stored_ciphertexts(integrations, configuration)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    with pytest.raises(CommandError, match="6 values are still under an older key"):
        rotate("--check")
    assert "integrations.Integration.account_token: 2 re-encrypted" in rotate()
    rotate("--check")
    settings.FIELD_ENCRYPTION_KEYS = [new]

    after = stored_ciphertexts(integrations, configuration)
    assert len(after) == len(before) == 6 and not set(after) & set(before)
    assert [Integration.objects.get(pk=i.pk).account_token for i in integrations] == tokens
    assert all(sync_succeeds(i) for i in integrations)
    assert SSOConfiguration.objects.get(pk=configuration.pk).oidc_client_secret == "oidc-client-secret-value"
    assert mfa_secrets() == secrets
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Integration.objects.get(pk=integrations[0].pk)

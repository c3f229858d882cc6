"""A Merge account token never reaches logs, error pages, the audit log, emails or the support diagnostics,
including when Merge (or a proxy in between) echoes the credentials it was sent in an error."""

import functools
import json
import logging
import secrets

import httpx
import pytest
from django.urls import reverse
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.integrations import models as integration_models
from skillibrium.integrations import relink as relinking
from skillibrium.integrations import support
from skillibrium.integrations.choices import Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeClient
from skillibrium.sync.models import RunStatus

from .factories import make_integration, make_org, make_user, signed_in
from .mailbox import sent_mail
from .rawdb import tables_holding
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in (None, "httpx", "httpcore", "django", "skillibrium"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter()
    return "\n".join(
        record.getMessage() + (formatter.formatException(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )


def token_of(integration: Integration) -> str:
    return Integration.objects.get(pk=integration.pk).account_token


def relink(sandbox: Sandbox, integration: Integration, admin: User, tenant: dict[str, str]) -> None:
    link_token = relinking.start_link(
        organization=integration.organization, category=integration.category, email=admin.email
    )
    public = sandbox.complete_link(link_token, tenant)
    relinking.complete_relink(integration=integration, public_token=public, membership=admin.membership)


def test_sync_and_relink_log_no_token_even_at_debug(
    sandbox: Sandbox, everything_logged: pytest.LogCaptureFixture
) -> None:
    tenant = sandbox.tenant(size=12)
    integration, admin = link(sandbox, make_org(), tenant)
    assert sync(integration, Trigger.ADMIN).status == RunStatus.SUCCEEDED
    relink(sandbox, integration, admin, tenant)
    assert sync(integration, Trigger.ADMIN).status == RunStatus.SUCCEEDED

    logged = logged_text(everything_logged)
    assert "HTTP Request: GET" in logged  # httpx's own debug lines were captured
    assert token_of(integration) not in logged


def test_support_diagnostics_audit_csv_and_emails_hold_no_token(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=10)
    integration, admin = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.ADMIN)
    relink(sandbox, integration, admin, tenant)
    client = signed_in(admin)

    client.post(reverse("integrations:contact_support", args=[integration.pk]), {"message": "Still stuck"})
    audit_csv = b"".join(client.get(reverse("audit_csv")).streaming_content).decode()
    edit_page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()

    token = token_of(integration)
    assert "integration.relinked" in audit_csv and "support.requested" in audit_csv
    assert token not in audit_csv
    assert token not in json.dumps(support.diagnostics(integration))
    assert integration.merge_account_id in edit_page and token not in edit_page
    assert ["support@skillibrium.example"] in [m.to for m in sent_mail()]
    assert all(token not in m.body and token not in m.subject for m in sent_mail())


def echoing_credentials(request: httpx.Request) -> httpx.Response:
    """An error that repeats what it was sent, as some gateways and proxies do."""
    key, token = request.headers.get("Authorization"), request.headers.get("X-Account-Token")
    if token is None:  # the key alone, asking whether Merge still lists the account: it does not
        return httpx.Response(200, json={"next": None, "previous": None, "results": []}, request=request)
    detail = f"Invalid credentials {key} / X-Account-Token: {token}; token {token} is not known"
    return httpx.Response(401, json={"detail": detail}, request=request)


@pytest.fixture
def merge_echoing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = httpx.MockTransport(echoing_credentials)
    through_transport = functools.partial(MergeClient, transport=transport)
    monkeypatch.setattr(integration_models, "MergeClient", through_transport)


def test_a_merge_error_echoing_the_token_is_masked_wherever_it_goes(
    merge_echoing_credentials: None, everything_logged: pytest.LogCaptureFixture, settings: Settings
) -> None:
    settings.MERGE_API_KEY = api_key = secrets.token_urlsafe(24)
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    integration = make_integration(org)
    integration.account_token = token = secrets.token_urlsafe(24)
    integration.save()

    run = sync(integration, Trigger.ADMIN)
    integration.refresh_from_db()
    support.file_support_request(integration=integration, membership=admin.membership, message="Help")
    edit_page = signed_in(admin).get(reverse("integrations:edit", args=[integration.pk])).content.decode()

    assert run.status == RunStatus.FAILED and integration.health == Health.DISCONNECTED
    assert "Merge no longer lists this linked account: Invalid credentials" in run.error
    for secret in (token, api_key):
        assert secret not in run.error and secret not in integration.cause_detail
        assert secret not in edit_page and secret not in logged_text(everything_logged)
        assert all(secret not in m.body for m in sent_mail())
        assert tables_holding(secret) == set()


def test_the_error_page_of_a_failed_relink_shows_no_token(
    sandbox: Sandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug after the token exchange: the debug page (and Django's error report) lists every frame's
    variables; the token must not be among them."""
    tenant = sandbox.tenant(size=5)
    integration, admin = link(sandbox, make_org(), tenant)

    def broken(**detail: object) -> None:
        raise RuntimeError("the relink could not be recorded")

    monkeypatch.setattr(relinking, "record", broken)
    settings.DEBUG = True
    client = signed_in(admin)
    client.raise_request_exception = False
    link_token = relinking.start_link(
        organization=integration.organization, category="hris", email=admin.email
    )
    url = reverse("integrations:relink_complete", args=[integration.pk])
    page = client.post(url, {"public_token": sandbox.complete_link(link_token, tenant)}).content.decode()

    assert "the relink could not be recorded" in page and "complete_relink" in page
    assert token_of(integration) not in page

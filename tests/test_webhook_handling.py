"""Issue, "one home for each transition", tests: Merge's webhooks in process, without a sandbox: the
signature, each delivery processed once, and what each event leads to."""

from typing import Any

import orjson
import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from skillibrium.integrations.choices import Health
from skillibrium.integrations.models import Integration, WebhookDelivery
from skillibrium.integrations.webhooks import signature_is_valid

from .factories import make_integration, make_org, merge_signature, queued_syncs

KEY = "unit-test-webhook-key"
URL = "/webhooks/merge/"


@pytest.fixture(autouse=True)
def webhook_key(settings: Settings) -> None:
    settings.MERGE_WEBHOOK_KEY = KEY


def body(event: str, account_id: str, **data: Any) -> bytes:
    return orjson.dumps({"hook": {"event": event}, "linked_account": {"id": account_id}, "data": data})


def deliver(raw: bytes, signature: str | None = None) -> tuple[int, str]:
    response = Client().post(
        URL,
        raw,
        content_type="application/json",
        HTTP_X_MERGE_WEBHOOK_SIGNATURE=signature or merge_signature(raw),
    )
    return response.status_code, str(response.json()["detail"])


def queued_triggers(integration: Integration) -> list[str]:
    """The triggers of the syncs waiting in the task queue for this integration."""
    return [str(task.args_kwargs["args"][1]) for task in queued_syncs(integration)]


def test_the_signature_is_merges_hmac_of_the_raw_body() -> None:
    raw = body("Issue.new", "acc-1")

    assert signature_is_valid(raw, merge_signature(raw))
    assert signature_is_valid(raw, merge_signature(raw) + "=")  # padded or not, as Merge's docs show both
    assert not signature_is_valid(raw, merge_signature(raw, key="another-key"))
    assert not signature_is_valid(raw + b" ", merge_signature(raw))
    assert not signature_is_valid(raw, "")


@pytest.mark.django_db
def test_a_forged_delivery_is_refused_and_changes_nothing() -> None:
    integration = make_integration(make_org())
    raw = body("LinkedAccount.deleted", integration.merge_account_id)

    assert deliver(raw, signature=merge_signature(raw, key="guessed")) == (401, "Invalid signature.")

    assert Integration.objects.get(pk=integration.pk).health == Health.HEALTHY
    assert not WebhookDelivery.objects.exists() and queued_triggers(integration) == []


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"hook": {}}', b'{"hook": {"event": "x"}, "data": 1}'])
def test_a_signed_body_that_is_not_a_merge_webhook_is_a_clear_400(raw: bytes) -> None:
    assert deliver(raw) == (400, "Not a Merge webhook body.")
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_a_delivery_merge_retries_is_processed_once() -> None:
    integration = make_integration(make_org())
    raw = body("LinkedAccount.sync_completed", integration.merge_account_id)

    assert deliver(raw) == (200, "Accepted.")
    assert deliver(raw) == (200, "Already processed.")

    assert queued_triggers(integration) == ["webhook"]
    assert WebhookDelivery.objects.get().event == "LinkedAccount.sync_completed"


@pytest.mark.django_db
def test_a_delivery_for_an_account_we_do_not_hold_is_acknowledged_and_ignored() -> None:
    integration = make_integration(make_org())

    assert deliver(body("Issue.new", "someone-elses-account")) == (200, "Unknown linked account; ignored.")

    assert queued_triggers(integration) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event", ["LinkedAccount.sync_completed", "Issue.new", "Issue.resolved", "hris.Employee.changed"]
)
def test_change_and_issue_events_queue_a_sync(event: str) -> None:
    integration = make_integration(make_org())

    assert deliver(body(event, integration.merge_account_id)) == (200, "Accepted.")

    assert queued_triggers(integration) == ["webhook"]


@pytest.mark.django_db
def test_events_that_mean_nothing_to_the_directory_queue_nothing() -> None:
    integration = make_integration(make_org())

    assert deliver(body("Something.new", integration.merge_account_id)) == (200, "Accepted.")
    assert deliver(body("LinkedAccount.sync_started", integration.merge_account_id)) == (200, "Accepted.")

    assert queued_triggers(integration) == []
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_a_paused_integration_queues_no_sync() -> None:
    integration = make_integration(make_org())
    Integration.objects.filter(pk=integration.pk).update(is_paused=True)

    assert deliver(body("hris.Employee.added", integration.merge_account_id)) == (200, "Accepted.")

    assert queued_triggers(integration) == []

"""Faults with the sandbox: each ends with the directory equal to the source, no duplicate users, and no
wrongful deactivation. These commit to the database, because real worker processes take part."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import Integration, WebhookDelivery
from skillibrium.merge_client import pacing
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus, SyncRun

from .conftest import ROOT
from .factories import make_org, signed
from .sandboxed import Sandbox, assert_matches_source, link, sync

pytestmark = pytest.mark.django_db(transaction=True)


def subprocess_env(**extra: str) -> dict[str, str]:
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return (
        os.environ
        | {
            "DATABASE_URL": url,
            "SKILLIBRIUM_DEBUG": "1",
            "MERGE_API_URL": django_settings.MERGE_API_URL,
            "MERGE_RATE_LIMIT_PER_MINUTE": "0",
        }
        | extra
    )


def test_worker_killed_mid_sync_is_redone_with_the_same_result(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=2500, seed=11)  # pages are written 1,000 people at a time
    integration, _ = link(sandbox, make_org(), tenant)
    sandbox.control("PUT", "faults", latency_ms=100)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "sync_account", str(integration.pk)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not SyncRun.objects.filter(
        integration=integration, pages__gte=0, status=RunStatus.RUNNING
    ).exists():
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.1)
    while not Person.objects.for_org(integration.organization).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    sandbox.control("DELETE", "faults")
    assert Person.objects.for_org(integration.organization).count() < 2500  # it really died mid-way
    assert sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE) is None  # still held
    # The dead worker's lease runs out: moved into the past rather than waited for.
    Integration.objects.filter(pk=integration.pk).update(
        sync_lease_until=timezone.now() - dt.timedelta(seconds=1)
    )

    redo = sync(integration)

    assert redo.status == RunStatus.SUCCEEDED
    interrupted = SyncRun.objects.filter(integration=integration).exclude(pk=redo.pk).get()
    assert interrupted.status == RunStatus.FAILED and "Interrupted" in interrupted.error
    assert_matches_source(sandbox, integration, tenant["id"])


def test_merge_outage_mid_run_changes_nothing_then_recovers(sandbox: Sandbox, settings: Settings) -> None:
    settings.MERGE_RETRY_ATTEMPTS = 1
    tenant = sandbox.tenant(size=350, seed=12)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    for person in Person.objects.for_org(integration.organization).filter(user__isnull=False)[:3]:
        sandbox.control(
            "POST", f"tenants/{tenant['id']}/people/{person.identities.get().remote_id}/terminate"
        )
    sandbox.merge_sync()
    watermark = integration.sync_watermark
    Integration.objects.filter(pk=integration.pk).update(sync_watermark=None)  # a full re-read: several pages
    integration.refresh_from_db()
    # The outage starts after the account check and the first list page, however fast the machine is.
    sandbox.control("POST", "outage", mode="503", after_requests=4)

    failed = sync(integration)

    assert failed.status == RunStatus.FAILED and failed.deactivated == 0
    assert (integration.health, integration.cause) == (Health.DEGRADED, Cause.MERGE_OUTAGE)
    assert (
        User.objects.filter(membership__organization=integration.organization, is_active=False).count() == 0
    )
    assert integration.sync_watermark is None and watermark is not None
    sandbox.control("DELETE", "outage")
    sandbox.control("DELETE", "faults")
    recovered = sync(integration)
    assert recovered.status == RunStatus.SUCCEEDED and recovered.deactivated == 3
    assert_matches_source(sandbox, integration, tenant["id"])


def test_429s_are_waited_out_as_merge_asks(
    sandbox: Sandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each 429 is waited out for its Retry-After, then the request is made again. The waits move the
    sandbox clock instead of passing in real time, so the test does not depend on the machine's speed."""
    settings.MERGE_RATE_LIMIT_PER_MINUTE = 0  # our own pacing off: let Merge's limit bite
    settings.MERGE_RETRY_ATTEMPTS = 10  # two threads may share a freed slot; no request gives up meanwhile
    tenant = sandbox.tenant(size=120, seed=13)
    integration, _ = link(sandbox, make_org(), tenant)
    sandbox.control("PUT", f"linked-accounts/{integration.merge_account_id}/rate-limit", per_minute=4)
    waits: list[float] = []

    def on_the_sandbox_clock(seconds: float) -> None:
        waits.append(seconds)
        sandbox.control("POST", "clock/advance", seconds=seconds)

    monkeypatch.setattr(pacing, "wait_out", on_the_sandbox_clock)

    result = sync(integration, Trigger.SETUP)

    assert result.status == RunStatus.SUCCEEDED, result.error
    assert result.rate_limited >= 1 and len(waits) == result.rate_limited
    assert all(1 <= wait <= 60 for wait in waits)  # Merge's Retry-After, in whole seconds
    assert_matches_source(sandbox, integration, tenant["id"])


@pytest.mark.parametrize("fault", ["truncate", "malformed", "html"])
def test_broken_pages_are_retried(sandbox: Sandbox, fault: str) -> None:
    tenant = sandbox.tenant(size=250, seed=14)
    integration, _ = link(sandbox, make_org(), tenant)
    sandbox.control("PUT", "faults", page_fault=fault, page_fault_remaining=2)

    result = sync(integration, Trigger.SETUP)

    assert result.status == RunStatus.SUCCEEDED, result.error
    assert result.requests > result.pages + 2
    assert_matches_source(sandbox, integration, tenant["id"])


def test_schema_drift_deactivates_no_one(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=30, seed=15)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    sandbox.control("PUT", "faults", drift_extra_fields=True, drift_unknown_enums=True)
    Integration.objects.filter(pk=integration.pk).update(sync_watermark=None)

    result = sync(integration)

    assert result.status == RunStatus.SUCCEEDED and result.deactivated == 0
    assert not User.objects.filter(
        membership__organization=integration.organization, is_active=False
    ).exists()


def test_duplicate_and_out_of_order_webhooks_are_processed_once_and_converge(sandbox: Sandbox) -> None:
    tenant = sandbox.tenant(size=20, seed=16)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    account = {"id": integration.merge_account_id}
    later = signed({"hook": {"event": "Employee.changed"}, "linked_account": account, "data": {"id": "b"}})
    earlier = signed({"hook": {"event": "Employee.added"}, "linked_account": account, "data": {"id": "a"}})
    client = Client()

    answers = [
        client.post(
            "/webhooks/merge/", raw, content_type="application/json", HTTP_X_MERGE_WEBHOOK_SIGNATURE=sig
        )
        for raw, sig in (later, later, earlier, earlier)
    ]
    forged = client.post(
        "/webhooks/merge/", later[0], content_type="application/json", HTTP_X_MERGE_WEBHOOK_SIGNATURE="not-it"
    )

    assert [a.json()["detail"] for a in answers] == [
        "Accepted.",
        "Already processed.",
        "Accepted.",
        "Already processed.",
    ]
    assert forged.status_code == 401
    assert WebhookDelivery.objects.filter(account_id=integration.merge_account_id).count() == 2
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Hedy", last_name="Lamarr")
    sandbox.merge_sync()
    sync(integration, Trigger.WEBHOOK)
    assert_matches_source(sandbox, integration, tenant["id"])


def test_two_workers_on_one_account_run_one_sync(sandbox: Sandbox) -> None:
    """The second worker comes while the first holds the account: the first is stopped (SIGSTOP) once its
    run is under way, so the overlap does not depend on how fast either process starts."""
    tenant = sandbox.tenant(size=300, seed=17)
    integration, _ = link(sandbox, make_org(), tenant)
    sandbox.control("PUT", "faults", latency_ms=200)
    command = [sys.executable, "manage.py", "sync_account", str(integration.pk)]
    env = subprocess_env() | {"COLUMNS": "400"}
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not SyncRun.objects.filter(integration=integration, status=RunStatus.RUNNING).exists():
        assert time.monotonic() < deadline and first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGSTOP)
    try:
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    _, first_errors = first.communicate(timeout=120)

    assert "another sync is running" in second.stderr, second.stderr
    assert "another sync is running" not in first_errors and first.returncode == 0, first_errors
    assert SyncRun.objects.filter(integration=integration).get().status == RunStatus.SUCCEEDED
    sandbox.control("DELETE", "faults")
    assert_matches_source(sandbox, integration, tenant["id"])


def test_a_late_linked_event_does_not_pass_for_a_relink(sandbox: Sandbox) -> None:
    """Merge retries deliveries for hours: the first link's event may land after the connection broke."""
    tenant = sandbox.tenant(size=10, seed=18)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")
    sandbox.merge_sync()
    sync(integration)
    assert integration.health == Health.RELINK_NEEDED
    raw, signature = signed(
        {
            "hook": {"event": "LinkedAccount.linked"},
            "linked_account": {"id": integration.merge_account_id},
            "data": {"id": integration.merge_account_id, "status": "COMPLETE"},
        }
    )

    answer = Client().post(
        "/webhooks/merge/", raw, content_type="application/json", HTTP_X_MERGE_WEBHOOK_SIGNATURE=signature
    )

    integration.refresh_from_db()
    assert answer.status_code == 200 and integration.health == Health.RELINK_NEEDED
    assert not SyncRun.objects.filter(integration=integration, trigger=Trigger.RELINK).exists()

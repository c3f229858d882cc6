"""Merge blocks a client IP after more than 20 failed requests in 10 s; the fleet never gets there."""

import datetime as dt
import types

import pytest
from django.db.models import F
from django.utils import timezone
from pytest_django.fixtures import Settings

from skillibrium.integrations.choices import Cause, Health
from skillibrium.merge_client import budget
from skillibrium.merge_client.models import FailedRequest
from skillibrium.sync.models import RunStatus

from .factories import make_integration, make_org
from .sandboxed import Sandbox, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(merge: str) -> Sandbox:
    sandbox = Sandbox(merge)
    yield sandbox
    sandbox.control("DELETE", "outage")
    sandbox.control("DELETE", "faults")


def test_a_fleet_wide_outage_backs_off_as_one_and_never_trips_merges_ip_block(
    sandbox: Sandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue item 18: during an outage, 30 integrations' syncs send at most the fleet's budget of failing
    requests in 10 s; the rest are held back before anything is sent, their health untouched, and Merge's IP
    block (emulated) never trips.
    The budget's clock stands still here, so the machine's speed plays no part."""
    settings.MERGE_RETRY_ATTEMPTS = 1
    instant = timezone.now()
    monkeypatch.setattr(budget, "timezone", types.SimpleNamespace(now=lambda: instant))
    fleet = [make_integration(make_org()) for _ in range(30)]
    sandbox.control("PUT", "faults", ip_block=True)
    sandbox.control("POST", "outage", mode="503")

    runs = [sync(integration) for integration in fleet]

    assert sandbox.control("GET", "ip-blocks")["blocked_seconds"] == {}
    assert {run.status for run in runs} == {RunStatus.FAILED}
    sent = [i for i, run in zip(fleet, runs, strict=True) if "503" in run.error]
    held = [i for i, run in zip(fleet, runs, strict=True) if "holds back" in run.error]
    assert (len(sent), len(held)) == (settings.MERGE_FLEET_FAILURE_BUDGET, 30 - len(sent))
    assert {(i.health, i.cause) for i in sent} == {(Health.DEGRADED, Cause.MERGE_OUTAGE)}
    assert {(i.health, i.cause) for i in held} == {(Health.HEALTHY, Cause.NONE)}
    assert all(i.next_sync_at > instant for i in held)

    sandbox.control("DELETE", "outage")
    FailedRequest.objects.update(at=F("at") - dt.timedelta(seconds=11))  # the window passes

    assert "holds back" not in sync(held[0]).error  # sent again, and answered by Merge

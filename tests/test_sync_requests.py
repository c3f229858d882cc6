"""How syncs are asked for and how runs end: coalesced requests, one catch-up per relink, crashes recorded."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from skillibrium.integrations import relink as relinking
from skillibrium.integrations.choices import Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync import engine
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus, SyncRun
from skillibrium.sync.tasks import sync_linked_account

from .factories import make_integration, make_org, queued_syncs, signed
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(merge: str) -> Sandbox:
    return Sandbox(merge)


def linked(sandbox: Sandbox, size: int = 10) -> tuple[Integration, object, dict[str, str]]:
    tenant = sandbox.tenant(size=size)
    integration, admin = link(sandbox, make_org(), tenant)
    run = sync_integration(integration_id=integration.pk, trigger=Trigger.SETUP)
    assert run is not None and run.status == RunStatus.SUCCEEDED
    integration.refresh_from_db()
    clear_mail()
    return integration, admin, tenant


def work_off(integration: Integration, committed: Callable[..., Any]) -> list[SyncRun]:
    """What a worker does with the queued syncs (and any they queue), in this process."""
    runs = []
    while tasks := queued_syncs(integration):
        for task in tasks:
            DBTaskResult.objects.filter(pk=task.pk).update(status="SUCCESSFUL")
            with committed(execute=True):
                run_id = sync_linked_account.call(*task.args_kwargs["args"])
            runs += list(SyncRun.objects.filter(pk=run_id))
    return runs


def deliver(client: Client, event: str, account_id: str, record_id: str = "") -> None:
    body = {"hook": {"event": event}, "linked_account": {"id": account_id}, "data": {"id": record_id}}
    raw, signature = signed(body)
    answer = client.post(
        "/webhooks/merge/", raw, content_type="application/json", HTTP_X_MERGE_WEBHOOK_SIGNATURE=signature
    )
    assert answer.status_code == 200, answer.content


def test_item_10_a_burst_of_webhooks_queues_one_sync(
    sandbox: Sandbox, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Issue item 10: 50 per-record events for one linked account queue at most one pending sync, and the
    burst costs one run's Merge requests, not fifty."""
    integration, _, tenant = linked(sandbox)
    for n in range(3):
        sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name=f"New{n}", last_name="Hire")
    sandbox.merge_sync()
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(50):
            deliver(client, "Employee.changed", integration.merge_account_id, f"employee-{n}")

    assert len(queued_syncs(integration)) == 1
    runs = work_off(integration, django_capture_on_commit_callbacks)
    assert [run.trigger for run in runs] == [Trigger.WEBHOOK] and runs[0].created == 3
    assert sum(run.requests for run in runs) <= 8, [run.requests for run in runs]
    integration.refresh_from_db()
    assert (integration.sync_queued, integration.sync_queued_at) == ("", None)


def test_item_10_requests_during_a_run_make_it_go_round_once_more(
    sandbox: Sandbox, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Issue item 10: events that arrive while a run holds the lease queue nothing; the run goes round once
    more, so their changes are not lost."""
    integration, _, tenant = linked(sandbox)
    client = Client()
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Ada", last_name="Lovelace")
    sandbox.merge_sync()

    def arrives_meanwhile(run: SyncRun) -> None:
        for n in range(10):
            deliver(client, "Employee.added", integration.merge_account_id, f"during-{run.pages}-{n}")

    with django_capture_on_commit_callbacks(execute=True):
        first = sync_integration(
            integration_id=integration.pk, trigger=Trigger.SCHEDULE, progress=arrives_meanwhile
        )

    assert first is not None and first.created == 1
    assert [task.args_kwargs["args"] for task in queued_syncs(integration)] == [
        [integration.pk, Trigger.WEBHOOK]
    ]
    assert [run.status for run in work_off(integration, django_capture_on_commit_callbacks)] == [
        RunStatus.SUCCEEDED
    ]


def test_a_crashed_run_records_its_own_error_and_traceback(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped by an unexpected error says what stopped it and where (not the next run's guess that
    the worker stopped), frees the account, and has the next run consider everyone."""
    integration, _, tenant = linked(sandbox)
    sandbox.control("POST", f"tenants/{tenant['id']}/people", first_name="Ada", last_name="Lovelace")
    sandbox.merge_sync()

    def broken(integration: Integration, **_: object) -> None:
        raise ZeroDivisionError("a bug in resolving managers")

    monkeypatch.setattr(engine, "resolve_references", broken)
    with pytest.raises(ZeroDivisionError):
        sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE)

    crashed = SyncRun.objects.filter(integration=integration).first()
    assert crashed is not None and crashed.status == RunStatus.FAILED
    assert crashed.error == "Stopped by an error: ZeroDivisionError: a bug in resolving managers"
    assert "in broken" in crashed.traceback and "resolve_references" in crashed.traceback
    integration.refresh_from_db()
    assert integration.sync_lease_until is None and integration.provisioning_pending
    monkeypatch.undo()
    again = sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE)
    assert again is not None and again.status == RunStatus.SUCCEEDED
    crashed.refresh_from_db()
    assert crashed.error.startswith("Stopped by an error")


def test_item_9_relink_after_the_webhook_started_the_catch_up_catches_up_once(
    sandbox: Sandbox, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Issue item 9: Merge's LinkedAccount.linked webhook starts the catch-up (and it finishes) before the
    admin's relink comes back: one catch-up, one "syncing again" email, and Healthy stays Healthy."""
    integration, admin, tenant = linked(sandbox)
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE)
    integration.refresh_from_db()
    assert integration.health == Health.RELINK_NEEDED
    clear_mail()
    token = relinking.start_link(organization=integration.organization, category="hris", email=admin.email)
    public = sandbox.complete_link(token, tenant, password)

    loaded_before = Integration.objects.get(pk=integration.pk)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(Client(), "LinkedAccount.linked", integration.merge_account_id)
    webhook_runs = work_off(integration, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        relinking.complete_relink(integration=loaded_before, public_token=public, membership=admin.membership)
    admin_runs = work_off(integration, django_capture_on_commit_callbacks)

    integration.refresh_from_db()
    assert [run.trigger for run in webhook_runs] == [Trigger.RELINK] and admin_runs == []
    assert integration.health == Health.HEALTHY
    assert [m.subject for m in sent_mail() if "syncing again" in m.subject] != []
    assert len([m for m in sent_mail() if "syncing again" in m.subject]) == 1
    assert SyncRun.objects.filter(integration=integration, trigger=Trigger.RELINK).count() == 1


def test_item_9_the_admin_relink_and_the_webhook_together_queue_one_catch_up(
    sandbox: Sandbox, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Issue item 9: the admin's relink first, Merge's webhook while the catch-up is queued: one catch-up."""
    integration, admin, tenant = linked(sandbox)
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE)
    clear_mail()
    token = relinking.start_link(organization=integration.organization, category="hris", email=admin.email)
    public = sandbox.complete_link(token, tenant, password)

    with django_capture_on_commit_callbacks(execute=True):
        relinking.complete_relink(
            integration=Integration.objects.get(pk=integration.pk),
            public_token=public,
            membership=admin.membership,
        )
    with django_capture_on_commit_callbacks(execute=True):
        deliver(Client(), "LinkedAccount.linked", integration.merge_account_id)
    assert len(queued_syncs(integration)) == 1
    runs = work_off(integration, django_capture_on_commit_callbacks)

    integration.refresh_from_db()
    assert [run.trigger for run in runs] == [Trigger.RELINK] and integration.health == Health.HEALTHY
    assert len([m for m in sent_mail() if "syncing again" in m.subject]) == 1


def test_item_10_request_sync_queues_once_until_a_run_starts() -> None:
    """Issue item 10, without a sandbox: requests join the queued sync (a relink's name wins) until a run
    takes the lease; a queued sync whose task was lost is queued again after a while."""
    integration = make_integration(make_org())

    assert relinking.request_sync(integration, Trigger.WEBHOOK)
    assert not relinking.request_sync(integration, Trigger.SCHEDULE)
    assert not relinking.request_sync(integration, Trigger.RELINK)
    assert [task.args_kwargs["args"] for task in queued_syncs(integration)] == [
        [integration.pk, Trigger.WEBHOOK]
    ]
    assert integration.take_sync_lease(300, trigger=Trigger.WEBHOOK) == Trigger.RELINK
    integration.release_sync_lease()
    assert relinking.request_sync(integration, Trigger.WEBHOOK)
    lost = timezone.now() - relinking.QUEUED_SYNC_EXPIRES - dt.timedelta(seconds=1)
    Integration.objects.filter(pk=integration.pk).update(sync_queued_at=lost)
    assert relinking.request_sync(integration, Trigger.WEBHOOK)
    assert len(queued_syncs(integration)) == 3


def test_item_10_a_request_while_a_run_holds_the_lease_is_kept_for_it() -> None:
    """Issue item 10, without a sandbox: while a run holds the lease a request queues nothing; the run
    learns of it when it releases the lease (and queues its next round through request_sync)."""
    integration = make_integration(make_org())
    assert integration.take_sync_lease(300, trigger=Trigger.SCHEDULE) == Trigger.SCHEDULE

    assert not relinking.request_sync(integration, Trigger.WEBHOOK)
    assert not relinking.request_sync(integration, Trigger.RELINK)
    assert not relinking.request_sync(integration, Trigger.WEBHOOK)

    assert queued_syncs(integration) == []
    assert integration.release_sync_lease() == Trigger.RELINK


def test_item_9_mark_relinked_moves_once() -> None:
    """Issue item 9, without a sandbox: the same relink reported twice (webhook, poll) moves the state once
    and queues one catch-up; a healthy integration is not moved back to catching up."""
    integration = make_integration(make_org(), health=Health.RELINK_NEEDED)

    assert relinking.mark_relinked(integration=integration, detected_by="webhook")
    assert not relinking.mark_relinked(integration=integration, detected_by="poll")

    assert integration.health == Health.CATCHING_UP and integration.break_noted_at is not None
    assert [task.args_kwargs["args"] for task in queued_syncs(integration)] == [
        [integration.pk, Trigger.RELINK]
    ]
    assert integration.events.filter(to_health=Health.CATCHING_UP).count() == 1
    Integration.objects.filter(pk=integration.pk).update(health=Health.HEALTHY)
    assert not relinking.mark_relinked(integration=integration, detected_by="webhook")
    assert integration.health == Health.HEALTHY


def test_item_9_a_queued_sync_that_meets_a_relink_becomes_its_catch_up() -> None:
    """Issue item 9, without a sandbox: a sync queued while the connection was broken, whose worker read it
    as broken just before the relink, keeps the catch-up that joined it instead of dropping it."""
    integration = make_integration(make_org(), health=Health.RELINK_NEEDED)
    assert relinking.request_sync(integration, Trigger.WEBHOOK)
    read_by_the_worker = Integration.objects.get(pk=integration.pk)

    assert relinking.mark_relinked(integration=integration, detected_by="webhook")

    assert len(queued_syncs(integration)) == 1  # the relink joined the queued sync
    assert not read_by_the_worker.forget_queued_sync()
    assert Integration.objects.get(pk=integration.pk).sync_queued == Trigger.RELINK
    Integration.objects.filter(pk=integration.pk).update(is_paused=True)
    assert read_by_the_worker.forget_queued_sync()
    assert Integration.objects.get(pk=integration.pk).sync_queued == ""

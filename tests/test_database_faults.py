"""The database connection lost in the middle of a run: the run stops, nothing it wrote is wrong, and the next
run (on a new connection, as the task worker opens one before each task) completes what it had begun."""

import datetime as dt

import psycopg
import pytest
from django.db import Error, close_old_connections, connection
from django.utils import timezone

from skillibrium.core.models import AuditEntry
from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync import engine, read
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_org
from .sandboxed import Sandbox, assert_matches_source, link, people_path, provisioned, sync

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_backend(pid: int) -> None:
    """What a database restart or a dropped network path does to one session, from outside it."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_connection_lost_mid_run_loses_nothing_and_the_next_run_completes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "WRITE_BATCH", 100)  # each page its own batch: the cut falls between them
    tenant = sandbox.tenant(size=300, seed=61)
    integration, _ = link(sandbox, make_org(), tenant)
    sync(integration, Trigger.SETUP)
    leavers = sorted(p.user.email for p in provisioned(integration)[:2] if p.user)
    for person in provisioned(integration)[:2]:
        sandbox.control("POST", f"{people_path(tenant, person)}/terminate")
    sandbox.merge_sync()
    Integration.objects.filter(pk=integration.pk).update(sync_watermark=None)  # several pages to cut between
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    cuts: list[int] = []

    def cut_after_the_first_batch(run: SyncRun) -> None:
        if not cuts:
            cuts.append(pid)
            terminate_backend(pid)

    with pytest.raises(Error):
        engine.sync_integration(
            integration_id=integration.pk, trigger=Trigger.SCHEDULE, progress=cut_after_the_first_batch
        )
    close_old_connections()  # the worker does this before its next task
    connection.close()
    # The lost run could not give its lease back: it runs out, as a dead worker's does.
    Integration.objects.filter(pk=integration.pk).update(
        sync_lease_until=timezone.now() - dt.timedelta(seconds=1)
    )

    redo = sync(integration)

    assert cuts and redo.status == RunStatus.SUCCEEDED, redo.error
    lost = SyncRun.objects.filter(integration=integration).exclude(pk=redo.pk).order_by("-pk").first()
    assert lost is not None and lost.status == RunStatus.FAILED and lost.error
    assert_matches_source(sandbox, integration, tenant["id"])
    deactivated = AuditEntry.objects.filter(organization=integration.organization, action="user.deactivated")
    assert sorted(deactivated.values_list("target", flat=True)) == leavers

"""Liveness stays cheap; readiness (/readyz) fails, naming the check, when the product cannot do its job: a
pending migration, background work no worker takes, a scheduler that stopped ticking, a mail server that
refuses."""

import datetime as dt
import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.tasks import TaskResultStatus
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

from skillibrium.core.health import SCHEDULER_TICK_KEY, scheduler_ticked
from skillibrium.sync.tasks import enqueue_due_syncs

# The checks run in threads of their own, on connections of their own: what they read must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def ticking() -> Iterator[None]:
    scheduler_ticked()
    yield


def failing(client: Client) -> dict[str, str]:
    response = client.get("/readyz", headers={"accept": "application/json"})
    body = response.json()
    failures = {name: message for name, message in body.items() if message != "OK"}
    assert response.status_code == (503 if failures else 200), body
    return failures


def test_liveness_touches_nothing(client: Client, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_ready_when_everything_answers(client: Client) -> None:
    assert failing(client) == {}


def test_not_ready_while_a_migration_is_pending(client: Client) -> None:
    recorder = MigrationRecorder(connection)
    (latest,) = (
        name for app, name in MigrationLoader(connection).graph.leaf_nodes() if app == "integrations"
    )
    recorder.record_unapplied("integrations", latest)
    try:
        assert list(failing(client).values()) == [
            "Unavailable: 1 migrations are not applied (run the release step)."
        ]
    finally:
        recorder.record_applied("integrations", latest)


def test_not_ready_when_no_worker_takes_due_work(client: Client, settings: Settings) -> None:
    settings.READY_BACKLOG_SECONDS = 600
    enqueue_due_syncs.enqueue()
    assert failing(client) == {}, "fresh work is not a backlog"

    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        enqueued_at=timezone.now() - dt.timedelta(minutes=11)
    )

    (message,) = failing(client).values()
    assert message.startswith("Unavailable: Background work has waited 66")


def test_not_ready_when_the_scheduler_stops_ticking(client: Client, settings: Settings) -> None:
    from django.core.cache import cache

    settings.READY_SCHEDULER_SECONDS = 180
    cache.set(SCHEDULER_TICK_KEY, (timezone.now() - dt.timedelta(minutes=4)).isoformat())
    assert list(failing(client).values()) == ["Unavailable: The scheduler last ticked 240 s ago."]

    enqueue_due_syncs.call()  # the scheduler's periodic task runs again

    assert failing(client) == {}


def test_not_ready_when_the_mail_server_refuses(client: Client, settings: Settings) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }

    assert list(failing(client).values()) == ["Unavailable: Connection refused error"]

"""Liveness and readiness, for the operator's load balancer and monitor.

`/healthz` (liveness) answers without touching anything: the process serves requests. `/readyz` (readiness,
django-health-check) answers 200 only when the product can do its job: the database and the cache answer,
every migration is applied, the task queue is being worked, the scheduler ticks and the mail server accepts a
connection; 503 otherwise. Each failing check names itself and why, never a secret."""

import dataclasses
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

SCHEDULER_TICK_KEY = "skillibrium:scheduler-tick"


def scheduler_ticked() -> None:
    """Called by the scheduler's own periodic task each time it runs: the heartbeat readiness reads."""
    cache.set(SCHEDULER_TICK_KEY, timezone.now().isoformat(), timeout=None)


@dataclasses.dataclass
class Migrations(HealthCheck):
    """A release whose migrations have not run yet serves pages that fail; readiness waits for them."""

    def run(self) -> None:
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:  # the Database check says why
            raise ServiceUnavailable("Applied migrations cannot be read.") from error
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migrations are not applied (run the release step).")


@dataclasses.dataclass
class TaskBacklog(HealthCheck):
    """Work due longer than SKILLIBRIUM_READY_BACKLOG_SECONDS means no worker is taking it (the database
    engine only: another engine reports its own queue)."""

    def run(self) -> None:
        if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
            return
        from django.tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult, get_date_max

        now = timezone.now()
        ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        due_at_once = ready.filter(run_after=get_date_max()).order_by("enqueued_at")
        due_later = ready.filter(run_after__lte=now).order_by("run_after")
        try:
            waiting_since = [
                due_at_once.values_list("enqueued_at", flat=True).first(),
                due_later.values_list("run_after", flat=True).first(),
            ]
        except DatabaseError as error:  # the Database check says why
            raise ServiceUnavailable("The task queue cannot be read.") from error
        oldest = min((t for t in waiting_since if t is not None), default=None)
        if oldest is not None and (now - oldest).total_seconds() > settings.READY_BACKLOG_SECONDS:
            raise ServiceUnavailable(
                f"Background work has waited {int((now - oldest).total_seconds())} s for a worker."
            )


@dataclasses.dataclass
class SchedulerHeartbeat(HealthCheck):
    """The scheduler's periodic task records each tick; a silent scheduler means no scheduled sync happens."""

    def run(self) -> None:
        try:
            tick = cache.get(SCHEDULER_TICK_KEY)
        except Exception as error:  # whichever cache backend: the Cache check says why
            raise ServiceUnavailable("The scheduler's heartbeat cannot be read from the cache.") from error
        if tick is None:
            raise ServiceUnavailable("The scheduler has not ticked yet.")
        age = (timezone.now() - dt.datetime.fromisoformat(tick)).total_seconds()
        if age > settings.READY_SCHEDULER_SECONDS:
            raise ServiceUnavailable(f"The scheduler last ticked {int(age)} s ago.")


class _ClosingExecutor(ThreadPoolExecutor):
    """Runs the synchronous checks in threads of its own that close their database connections when done,
    so that probing readiness every few seconds holds no connection open."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                connections.close_all()

        return super().submit(run)


class Readiness(HealthCheckView):
    checks = (
        "health_check.checks.Database",
        "health_check.checks.Cache",
        Migrations,
        TaskBacklog,
        SchedulerHeartbeat,
        ("health_check.checks.Mail", {"timeout": dt.timedelta(seconds=5)}),
    )

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = await super().get(request, *args, **kwargs)
        if response.status_code == 500:  # the library's "a check failed": to a load balancer, unavailable
            response.status_code = 503
        return response

    def get_executor(self) -> ThreadPoolExecutor:
        return _ClosingExecutor(max_workers=len(self.checks))

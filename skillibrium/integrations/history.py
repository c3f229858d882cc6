"""An integration's history at a glance: its runs a page at a time, the last 30 days by day, its health as
spans of time, and the totals of the people it brings: each a fixed number of queries, whatever the size."""

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from skillibrium.accounts.models import Invitation
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.provisioning.models import HeldChange, HoldStatus
from skillibrium.sync.models import RunStatus, SyncRun

from .choices import Health, Trigger
from .models import Integration

DAYS = 30
PAGE_SIZE = 25
# A month of health transitions is a handful; a flapping connection's are capped, the newest kept.
MAX_SPANS = 500


@dataclass(frozen=True)
class RunsPage:
    runs: list[SyncRun]
    older: str  # the cursor of the next page of older runs, "" on the last page
    newer: str  # the cursor of the page of newer runs, "" on the first page


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def cursor_of(run: SyncRun) -> str:
    """Where a page ends: the run's start in whole microseconds (exact, unlike a float) and its id."""
    return f"{(run.started_at - EPOCH) // MICROSECOND}_{run.pk}"


def _parse_cursor(value: str) -> tuple[dt.datetime, int] | None:
    stamp, _, pk = value.partition("_")
    try:
        return EPOCH + int(stamp) * MICROSECOND, int(pk)
    except (ValueError, OverflowError):
        return None


def filtered_runs(integration: Integration, *, status: str = "", trigger: str = "") -> QuerySet[SyncRun]:
    """The integration's runs, by status and trigger when they name one; other values filter nothing."""
    runs = SyncRun.objects.filter(integration=integration)
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    if trigger in Trigger.values:
        runs = runs.filter(trigger=trigger)
    return runs


def runs_page(runs: QuerySet[SyncRun], *, before: str = "", after: str = "") -> RunsPage:
    """Keyset paging on (started_at, id), newest first: a page deep in the history costs what the first
    does, where OFFSET would read every row before it."""
    older_than, newer_than = (
        _parse_cursor(before) if before else None,
        _parse_cursor(after) if after else None,
    )
    if newer_than is not None:
        at, pk = newer_than
        rows = list(
            runs.filter(Q(started_at__gt=at) | Q(started_at=at, pk__gt=pk)).order_by("started_at", "pk")[
                : PAGE_SIZE + 1
            ]
        )
        more_newer = len(rows) > PAGE_SIZE
        page = rows[:PAGE_SIZE][::-1]
        return RunsPage(
            runs=page,
            older=cursor_of(page[-1]) if page else "",
            newer=cursor_of(page[0]) if page and more_newer else "",
        )
    if older_than is not None:
        at, pk = older_than
        runs = runs.filter(Q(started_at__lt=at) | Q(started_at=at, pk__lt=pk))
    rows = list(runs.order_by("-started_at", "-pk")[: PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    return RunsPage(
        runs=page,
        older=cursor_of(page[-1]) if len(rows) > PAGE_SIZE else "",
        newer=cursor_of(page[0]) if page and older_than is not None else "",
    )


@dataclass(frozen=True)
class Day:
    date: dt.date
    succeeded: int = 0
    failed: int = 0
    paused: int = 0
    running: int = 0
    changed: int = 0
    longest: float | None = None  # seconds, of the longest finished run

    @property
    def runs(self) -> int:
        return self.succeeded + self.failed + self.paused + self.running


def window_start(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.datetime:
    """Midnight, in the organization's zone, DAYS - 1 days before today: the window ends today."""
    today = (now or timezone.now()).astimezone(zone).date()
    first = today - dt.timedelta(days=DAYS - 1)
    return dt.datetime.combine(first, dt.time(), tzinfo=zone)


def daily(integration: Integration, zone: ZoneInfo, now: dt.datetime | None = None) -> list[Day]:
    """The last DAYS days of runs, by the organization's day, in one grouped query."""
    start = window_start(zone, now)
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        SyncRun.objects.filter(integration=integration, started_at__gte=start)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day")
        .annotate(
            succeeded=Count("pk", filter=Q(status=RunStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=RunStatus.FAILED)),
            paused=Count("pk", filter=Q(status=RunStatus.PAUSED)),
            running=Count("pk", filter=Q(status=RunStatus.RUNNING)),
            changed=Sum(F("created") + F("updated") + F("deactivated")),
            longest=Max(duration, filter=Q(finished_at__isnull=False)),
        )
        .order_by("day")
    )
    found: dict[dt.date, Any] = {row["day"]: row for row in rows}
    days = []
    for offset in range(DAYS):
        date = start.date() + dt.timedelta(days=offset)
        row = found.get(date)
        if row is None:
            days.append(Day(date=date))
            continue
        longest = row["longest"]
        days.append(
            Day(
                date=date,
                succeeded=row["succeeded"],
                failed=row["failed"],
                paused=row["paused"],
                running=row["running"],
                changed=row["changed"] or 0,
                longest=longest.total_seconds() if longest is not None else None,
            )
        )
    return days


@dataclass(frozen=True)
class Span:
    health: str
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        return Health(self.health).label if self.health in Health.values else "Not linked"


def health_spans(integration: Integration, zone: ZoneInfo, now: dt.datetime | None = None) -> list[Span]:
    """The window cut into spans of one health each, from the recorded transitions (IntegrationEvent): before
    the first transition of the window, the health it left; before the link, no connection at all."""
    now = now or timezone.now()
    start = window_start(zone, now)
    events = list(integration.events.filter(at__gte=start, at__lte=now).order_by("-at", "-id")[:MAX_SPANS])[
        ::-1
    ]
    health = events[0].from_health if events else integration.health
    spans: list[Span] = []
    cursor = start
    if integration.linked_at > start:
        cursor = min(integration.linked_at, now)
        spans.append(Span(health="", start=start, end=cursor))
    for event in events:
        at = max(event.at, cursor)
        if at > cursor:
            spans.append(Span(health=health, start=cursor, end=at))
        cursor, health = at, event.to_health
    if now > cursor:
        spans.append(Span(health=health, start=cursor, end=now))
    return _merged(spans)


def _merged(spans: list[Span]) -> list[Span]:
    """A change of cause inside one health is one span of that health."""
    merged: list[Span] = []
    for span in spans:
        if merged and merged[-1].health == span.health:
            merged[-1] = Span(health=span.health, start=merged[-1].start, end=span.end)
        else:
            merged.append(span)
    return merged


@dataclass(frozen=True)
class Totals:
    people: int
    active_users: int
    pending_invitations: int
    held_changes: int
    next_sync_at: dt.datetime | None  # None when no sync is scheduled (paused, broken, disconnected)
    due_now: bool = False  # queued, or its time has come and the scheduler is about to queue it


def totals(integration: Integration, now: dt.datetime | None = None) -> Totals:
    """The people this linked account brings and where they stand, in two queries."""
    now = now or timezone.now()
    known = SourceIdentity.objects.filter(integration=integration, person=OuterRef("pk"), superseded=False)
    open_invitation = Invitation.objects.filter(
        user=OuterRef("user"),
        email__iexact=OuterRef("user__email"),
        accepted_at__isnull=True,
        superseded_at__isnull=True,
        expires_at__gt=now,
    )
    people = Person.objects.for_org(integration.organization).filter(Exists(known))
    counted = people.aggregate(
        people=Count("pk"),
        active_users=Count("pk", filter=Q(user__is_active=True)),
        pending_invitations=Count("pk", filter=Q(Exists(open_invitation), user__is_active=True)),
    )
    held = HeldChange.objects.filter(
        organization=integration.organization,
        status=HoldStatus.PENDING,
        person__in=people.values("pk"),
    ).count()
    return Totals(
        people=counted["people"],
        active_users=counted["active_users"],
        pending_invitations=counted["pending_invitations"],
        held_changes=held,
        next_sync_at=integration.next_sync_at if integration.can_sync else None,
        due_now=integration.can_sync and (bool(integration.sync_queued) or integration.next_sync_at <= now),
    )

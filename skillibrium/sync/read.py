"""Reading a linked account's records: pages mapped as they arrive, upserted in batches, each record marked as
seen on a full read, then the employment changes an incremental read of employees does not show."""

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

from skillibrium.core.bulk import StatisticsAsTablesGrow, batch_transaction
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import BadRecord, MergeClient
from skillibrium.provisioning.streaming import Streaming

from . import log, mapping, reconcile
from .employments import apply_employment_changes, newest_stamp
from .models import RunAction, SyncRun
from .prefetch import Prefetched
from .resolve import Groups, group_names, refresh_groups
from .upsert import upsert_page

type Progress = Callable[[SyncRun], None]

WRITE_BATCH = 1000
SOURCES: dict[str, tuple[str, str, dict[str, str], Callable[[mapping.Record], mapping.Mapped]]] = {
    Category.HRIS: ("employees", "hris.Employee", {"expand": "employments"}, mapping.employee),
    Category.CRM: ("users", "crm.User", {}, mapping.crm_user),
}


def read_records(
    client: MergeClient,
    integration: Integration,
    run: SyncRun,
    *,
    extend_lease: bool = True,
    progress: Progress | None = None,
    provision: Streaming | None = None,
    full_read: bool = False,
    hold: bool = False,
) -> dt.datetime | None:
    """`full_read`: everything, not only what changed after the watermark, each record marked as seen;
    `hold`: profile changes of users are held for review, not written."""
    path, _, extra, to_mapped = SOURCES[integration.category]
    params = {"include_deleted_data": "true", **extra}
    since = None if full_read else integration.sync_watermark
    if since:
        params["modified_after"] = since.isoformat()
    newest = integration.sync_watermark
    # A first load grows the tables as it goes: the lookups stay index lookups.
    statistics = StatisticsAsTablesGrow(Person, SourceIdentity)
    rows: dict[str, mapping.Mapped] = {}  # a few pages, written together: fewer, larger statements
    unusable: list[str] = []  # ids of records that could not be mapped: at the source all the same
    skipped: list[log.Entry] = []  # those records, for the run's log
    watch_returns = reconcile.anyone_not_seen(integration.organization_id)
    names: Groups | None = None

    def write() -> None:
        nonlocal names
        if integration.category == Category.HRIS and names is None:
            # Teams, groups and locations first (small lists), so that each batch is written with its names.
            refresh_groups(client, integration)
            names = group_names(integration)
        with batch_transaction():
            users_for = provision.users_for_new_people if provision else None
            with run.timing("upsert"):
                result = upsert_page(
                    integration,
                    list(rows.values()),
                    run_id=run.pk,
                    names=names,
                    users_for=users_for,
                    hold_profiles=hold,
                )
                log.write(RunAction.SKIPPED, skipped, run_id=run.pk)
                unchanged = result.unchanged_identities
                if full_read:
                    reconcile.mark_seen(
                        integration, identity_ids=unchanged, merge_ids=unusable, run_id=run.pk
                    )
                if watch_returns:
                    reconcile.seen_again(integration, person_ids=result.people, identity_ids=unchanged)
            if provision:
                with run.timing("provision"):
                    provision(result.people)
        rows.clear()
        unusable.clear()
        skipped.clear()
        run.created += result.created
        run.updated += result.updated
        run.unchanged += result.unchanged
        statistics.wrote(run.created)
        if extend_lease:
            integration.extend_sync_lease(settings.SYNC_LEASE_SECONDS)
        _batch_written(run, client, provision, progress)

    pages = Prefetched(mapped_pages(client.pages(path, params), to_mapped, run=run), depth=WRITE_BATCH // 100)
    unknown: dict[str, int] = {}  # employment statuses the product does not know -> how many records
    for page in _waited_for(pages, run):
        run.pages += 1
        for record, error in page.rejected:
            run.skip(record, error)
            skipped.append(_skipped(record, error))
            if isinstance(record, dict) and record.get("id"):
                unusable.append(str(record["id"]))
        for mapped in page.rows:
            rows[mapped.merge_id] = mapped
            status = mapped.person["employment_status"]
            if mapping.is_unknown_status(status):
                unknown[status] = unknown.get(status, 0) + 1
            if mapped.modified_at and (newest is None or mapped.modified_at > newest):
                newest = mapped.modified_at
        # Large batches while pages wait to be written; when the source is the slower side (a rate limit),
        # each page as it arrives, so that little is left to do once the last one is in.
        if len(rows) >= WRITE_BATCH or (rows and not pages.ready):
            write()
    if rows or unusable or skipped:
        write()
    run.warnings += [
        f"Employment status {status!r} is unknown to Skillibrium ({count} records): treated as not active, "
        "so nobody is invited or reactivated on it (nor deactivated)."
        for status, count in sorted(unknown.items())
    ]
    if integration.category == Category.HRIS and since:
        newest = _read_employment_changes(client, integration, run, newest, provision, progress)
    return newest


def _batch_written(
    run: SyncRun, client: MergeClient, provision: Streaming | None, progress: Progress | None
) -> None:
    """A batch is committed: its counters are saved, so that pages and the command line watching the run
    see them as they grow, not only when it ends."""
    run.requests, run.rate_limited = client.requests, client.rate_limited
    if provision:
        run.provisioned = provision.changes.created
    run.save_progress()
    if progress:
        progress(run)


def _waited_for[T](pages: Iterable[T], run: SyncRun) -> Iterator[T]:
    """The pages, with the time spent waiting for each counted as fetching (what the writes did not hide)."""
    pending = iter(pages)
    while True:
        with run.timing("fetch"):
            page = next(pending, None)
        if page is None:
            return
        yield page


def _skipped(record: mapping.Record, error: Exception) -> log.Entry:
    fields = record if isinstance(record, dict) else {}
    name = log.full_name(str(fields.get("first_name") or ""), str(fields.get("last_name") or ""))
    email = str(fields.get("work_email") or fields.get("email") or "")
    return (None, str(fields.get("id") or ""), name, email, {"error": str(error)[:300]})


@dataclass
class _MappedPage:
    rows: list[mapping.Mapped]
    rejected: list[tuple[mapping.Record, Exception]]


def mapped_pages(
    pages: Iterator[list[mapping.Record]],
    to_mapped: Callable[[mapping.Record], mapping.Mapped],
    *,
    run: SyncRun | None = None,
) -> Iterator[_MappedPage]:
    """Pages as directory rows, mapped in the fetching thread: while a batch is written, not after. `run`:
    the run whose time mapping is counted."""
    for page in pages:
        mapped = _MappedPage([], [])
        start = time.perf_counter()
        for record in page:
            try:
                mapped.rows.append(to_mapped(record))
            except (BadRecord, KeyError, TypeError, ValueError) as error:
                mapped.rejected.append((record, error))
        if run is not None:
            run.phases["map"] = round(run.phases.get("map", 0) + time.perf_counter() - start, 3)
        yield mapped


def _read_employment_changes(
    client: MergeClient,
    integration: Integration,
    run: SyncRun,
    newest: dt.datetime | None,
    provision: Streaming | None,
    progress: Progress | None,
) -> dt.datetime | None:
    assert integration.sync_watermark is not None
    params = {"modified_after": integration.sync_watermark.isoformat(), "include_deleted_data": "true"}
    for page in client.pages("employments", params):
        run.pages += 1
        people = apply_employment_changes(integration, page, run_id=run.pk)
        run.updated += len(people)
        if provision:
            provision(people)
        _batch_written(run, client, provision, progress)
        stamp = newest_stamp(page)
        if stamp and (newest is None or stamp > newest):
            newest = stamp
    return newest

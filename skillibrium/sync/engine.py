"""One sync run: check the account -> fetch pages -> map -> upsert -> resolve -> provision -> record."""

import datetime as dt
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from skillibrium.core.bulk import StatisticsAsTablesGrow, batch_transaction
from skillibrium.core.models import recording_run
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import health
from skillibrium.integrations.causes import classify
from skillibrium.integrations.choices import Category, Cause, Health, Trigger
from skillibrium.integrations.models import Integration, PlatformIncident, client_for
from skillibrium.integrations.relink import request_sync
from skillibrium.merge_client import BadRecord, MergeClient, MergeError, RelinkNeeded
from skillibrium.provisioning.apply import Changes, Streaming, provision_organization, reviews_after_break

from . import mapping, reconcile
from .employments import apply_employment_changes, newest_stamp
from .models import RunStatus, SyncRun
from .prefetch import Prefetched
from .resolve import Groups, group_names, refresh_groups, resolve_references
from .upsert import upsert_page

logger = logging.getLogger(__name__)

type Progress = Callable[[SyncRun], None]
type Issue = dict[str, Any]

MAX_RECORD_ERRORS = 100
WRITE_BATCH = 1000
SOURCES: dict[str, tuple[str, str, dict[str, str], Callable[[mapping.Record], mapping.Mapped]]] = {
    Category.HRIS: ("employees", "hris.Employee", {"expand": "employments"}, mapping.employee),
    Category.CRM: ("users", "crm.User", {}, mapping.crm_user),
}


KEY_REJECTED = "Merge rejects Skillibrium's API key; syncs resume by themselves once it works again"


def sync_integration(
    *, integration_id: int, trigger: Trigger, progress: Progress | None = None
) -> SyncRun | None:
    """Run one sync unless another holds the integration's sync lease; returns None when it did not run."""
    integration = Integration.objects.select_related("organization").get(pk=integration_id)
    if not integration.can_sync and not integration.forget_queued_sync():
        # Relinked since it was read: this sync is the catch-up.
        integration = Integration.objects.select_related("organization").get(pk=integration_id)
    held = PlatformIncident.api_key_rejected()
    if held and integration.can_sync:
        integration.defer_sync(trigger)
        integration.forget_queued_sync(unless_syncable=False)
    if held or not integration.can_sync:
        if trigger not in (Trigger.ADMIN, Trigger.CLI):
            return None
        run = SyncRun.objects.create(integration=integration, trigger=trigger)
        why = KEY_REJECTED if held else f"the integration is {integration.status_label}"
        return run.finish(RunStatus.PAUSED, error=f"Not synced: {why}.")
    taken = integration.take_sync_lease(settings.SYNC_LEASE_SECONDS, trigger=trigger)
    if taken is None:
        return None
    _close_interrupted_runs(integration)
    try:
        run = _run(integration, Trigger(taken), progress)
    finally:
        asked_again = integration.release_sync_lease()
        if asked_again:
            request_sync(integration, Trigger(asked_again))
    return run


def _close_interrupted_runs(integration: Integration) -> None:
    """Holding the lease, any run still 'running' belongs to a worker that died. Its writes were idempotent
    upserts and its watermark never moved, so this run redoes it; provisioning then considers everyone."""
    interrupted = SyncRun.objects.filter(integration=integration, status=RunStatus.RUNNING)
    if interrupted.update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error="Interrupted: the worker stopped before finishing; the next run redid its work.",
    ):
        integration.provisioning_pending = True
        integration.save(update_fields=["provisioning_pending"])


def _run(integration: Integration, trigger: Trigger, progress: Progress | None = None) -> SyncRun:
    """A run that crashes records its own error and traceback, so that nobody has to guess what stopped it."""
    run = SyncRun.objects.create(
        integration=integration, trigger=trigger, modified_after=integration.sync_watermark
    )
    try:
        with recording_run(run.pk):
            return _sync(integration, run, progress)
    except Exception as error:
        _record_crash(integration, run, error)
        raise


def _record_crash(integration: Integration, run: SyncRun, error: Exception) -> None:
    try:
        run.traceback = traceback.format_exc()
        run.finish(RunStatus.FAILED, error=f"Stopped by an error: {type(error).__name__}: {error}"[:2000])
        # What it provisioned may be partial: the next run considers everyone.
        Integration.objects.filter(pk=integration.pk).update(provisioning_pending=True)
    except DatabaseError:
        # The database is what failed: the next run finds this one still running and closes it.
        logger.exception("sync run %s of integration %s could not record its error", run.pk, integration.pk)


def _sync(integration: Integration, run: SyncRun, progress: Progress | None) -> SyncRun:
    hold_for_review = bool(integration.break_noted_at) and reviews_after_break(integration.organization_id)
    with client_for(integration) as client:
        try:
            reported = _check_connection(client, integration)
            ceiling = _merge_sync_in_progress_since(client, integration)
            full_read = reconcile.reads_everything(integration, Trigger(run.trigger), reported)
            run.modified_after = None if full_read else run.modified_after
            streaming = _streaming(integration, reported, hold_for_review=hold_for_review)
            newest = _fetch(
                client, integration, run, progress=progress, provision=streaming, full_read=full_read
            )
            if run.created or run.updated:
                resolve_references(integration)
        except MergeError as error:
            run.requests, run.rate_limited = client.requests, client.rate_limited
            health.record_failure(integration, error)
            return run.finish(RunStatus.FAILED, error=str(error))
        run.requests, run.rate_limited = client.requests, client.rate_limited
    if reported is not None:
        # The directory is up to date with what Merge has; provisioning waits until the problem clears.
        health.record_degraded(integration, *reported)
        integration.sync_watermark = _watermark(newest, ceiling)
        integration.save(update_fields=["sync_watermark"])
        run.warnings.append(f"Provisioning waits: {reported[0].label}.")
        return run.finish(RunStatus.SUCCEEDED)
    if integration.rekey_from_account:
        integration.rekey_from_account = ""
        integration.save(update_fields=["rekey_from_account"])
    if full_read:
        reconcile.sweep_run(integration, run)
    full_pass = health.record_success(integration, watermark=_watermark(newest, ceiling)) or full_read
    _provision(
        integration,
        run,
        full_pass=full_pass,
        hold_for_review=hold_for_review,
        streamed=streaming.changes if streaming else None,
    )
    integration.break_considered()
    return run.finish(RunStatus.SUCCEEDED)


def _streaming(integration: Integration, reported: object, *, hold_for_review: bool) -> Streaming | None:
    """Provision people as their pages arrive, unless this run must look at everyone (the connection was
    unwell: changes it missed apply at the end), the source reports a problem (nothing applies), or the
    organization lived through a break and reviews what follows it (everything is held at the end)."""
    if reported is not None or integration.provisioning_pending or hold_for_review:
        return None
    return Streaming.start(integration.organization_id)


def _provision(
    integration: Integration,
    run: SyncRun,
    *,
    full_pass: bool,
    hold_for_review: bool,
    streamed: Changes | None,
) -> None:
    """After an outage, everyone is considered, so that evidence that arrived meanwhile applies once."""
    changes = provision_organization(
        organization_id=integration.organization_id,
        run_id=run.pk,
        everyone=full_pass,
        hold_for_review=hold_for_review,
        streamed=streamed,
    )
    run.provisioned, run.deactivated, run.held = changes.created, changes.deactivated, changes.held
    for email, error in changes.failed:
        run.skip({"id": email}, error)
    run.warnings += [
        f"{email} is the last active admin and was not deactivated." for email in changes.kept_last_admin
    ]
    run.warnings += [
        f"{email} linked an integration and was deactivated: hand it over to another admin."
        for email in changes.owner_leaving
    ]


def _check_connection(client: MergeClient, integration: Integration) -> tuple[Cause, str] | None:
    """Merge keeps serving old data while a relink is needed, so ask for the account's status first.
    Returns the cause of an ongoing issue that needs no relink (a provider outage, say), if any."""
    details = client.account_details()
    needs_relink = details.status == "RELINK_NEEDED"
    issues = _still_failing(client, integration, client.ongoing_issues(integration.merge_account_id))
    texts = [str(issue.get("error_description") or "") for issue in issues]
    seen = [
        {k: issue.get(k) for k in ("id", "error_description", "first_incident_time", "last_incident_time")}
        for issue in issues
    ]
    if seen != integration.merge_issues:
        integration.merge_issues = seen
        integration.save(update_fields=["merge_issues"])
    detail = "; ".join(t for t in [*texts, details.status_detail] if t)
    if needs_relink:
        raise RelinkNeeded(detail or "Relink needed")
    return (classify(detail), detail) if texts else None


def _still_failing(client: MergeClient, integration: Integration, issues: list[Issue]) -> list[Issue]:
    """Merge keeps an issue ongoing for a day after its last failure, even once syncs succeed again. An issue
    that every model we read has synced past (DONE, finished after its last incident) is over for us."""
    if not issues:
        return issues
    models = {SOURCES[integration.category][1], "hris.Employment"}
    statuses = [s for s in client.sync_status() if s.get("model_id") in models]
    done = [_stamp(s.get("last_sync_finished")) for s in statuses if s.get("last_sync_result") == "DONE"]
    finished = [d for d in done if d is not None]
    if not statuses or len(finished) < len(statuses):
        return issues  # some model has not synced successfully since: the issue may well be current
    synced_past = min(finished)
    return [i for i in issues if not _before(i.get("last_incident_time"), synced_past)]


def _stamp(value: object) -> dt.datetime | None:
    return parse_datetime(str(value or ""))


def _before(value: object, moment: dt.datetime) -> bool:
    stamp = _stamp(value)
    return stamp is not None and stamp < moment


def _merge_sync_in_progress_since(client: MergeClient, integration: Integration) -> dt.datetime | None:
    """While Merge is still writing, records it writes later may carry earlier stamps than we saw: the safe
    overlap is to keep the watermark at the start of Merge's sync in progress."""
    models = {SOURCES[integration.category][1], "hris.Employment"}
    starts = [
        parse_datetime(str(status.get("last_sync_start") or ""))
        for status in client.sync_status()
        if status.get("model_id") in models and status.get("status") == "SYNCING"
    ]
    return min((s for s in starts if s), default=None)


def _watermark(newest: dt.datetime | None, ceiling: dt.datetime | None) -> dt.datetime | None:
    if newest and ceiling:
        return min(newest, ceiling - dt.timedelta(seconds=1))
    return newest


def _fetch(
    client: MergeClient,
    integration: Integration,
    run: SyncRun,
    *,
    extend_lease: bool = True,
    progress: Progress | None = None,
    provision: Streaming | None = None,
    full_read: bool = False,
) -> dt.datetime | None:
    """`full_read`: everything, not only what changed after the watermark, each record marked as seen."""
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
            result = upsert_page(
                integration, list(rows.values()), run_id=run.pk, names=names, users_for=users_for
            )
            unchanged = result.unchanged_identities
            if full_read:
                reconcile.mark_seen(integration, identity_ids=unchanged, merge_ids=unusable, run_id=run.pk)
            if watch_returns:
                reconcile.seen_again(
                    integration.organization_id, person_ids=result.people, identity_ids=unchanged
                )
            if provision:
                provision(result.people)
        rows.clear()
        unusable.clear()
        run.created += result.created
        run.updated += result.updated
        run.unchanged += result.unchanged
        statistics.wrote(run.created)
        if extend_lease:
            integration.extend_sync_lease(settings.SYNC_LEASE_SECONDS)
        if progress:
            progress(run)

    pages = Prefetched(_mapped(client.pages(path, params), to_mapped), depth=WRITE_BATCH // 100)
    unknown: dict[str, int] = {}  # employment statuses the product does not know -> how many records
    for page in pages:
        run.pages += 1
        for record, error in page.rejected:
            run.skip(record, error)
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
    if rows or unusable:
        write()
    run.warnings += [
        f"Employment status {status!r} is unknown to Skillibrium ({count} records): treated as not active, "
        "so nobody is invited or reactivated on it (nor deactivated)."
        for status, count in sorted(unknown.items())
    ]
    if integration.category == Category.HRIS and since:
        newest = _fetch_employment_changes(client, integration, run, newest, provision)
    return newest


@dataclass
class _MappedPage:
    rows: list[mapping.Mapped]
    rejected: list[tuple[mapping.Record, Exception]]


def _mapped(
    pages: Iterator[list[mapping.Record]], to_mapped: Callable[[mapping.Record], mapping.Mapped]
) -> Iterator[_MappedPage]:
    """Pages as directory rows, mapped in the fetching thread: while a batch is written, not after."""
    for page in pages:
        mapped = _MappedPage([], [])
        for record in page:
            try:
                mapped.rows.append(to_mapped(record))
            except (BadRecord, KeyError, TypeError, ValueError) as error:
                mapped.rejected.append((record, error))
        yield mapped


def _fetch_employment_changes(
    client: MergeClient,
    integration: Integration,
    run: SyncRun,
    newest: dt.datetime | None,
    provision: Streaming | None,
) -> dt.datetime | None:
    assert integration.sync_watermark is not None
    params = {"modified_after": integration.sync_watermark.isoformat(), "include_deleted_data": "true"}
    for page in client.pages("employments", params):
        run.pages += 1
        people = apply_employment_changes(integration, page, run_id=run.pk)
        run.updated += len(people)
        if provision:
            provision(people)
        stamp = newest_stamp(page)
        if stamp and (newest is None or stamp > newest):
            newest = stamp
    return newest


class _Rollback(Exception):
    pass


@dataclass
class Preview:
    run: SyncRun
    changes: Changes


def preview_sync(*, integration_id: int) -> Preview:
    """A dry run: fetch and apply everything inside a transaction, measure, then roll it all back."""
    integration = Integration.objects.select_related("organization").get(pk=integration_id)
    if Health(integration.health).needs_action:
        raise RelinkNeeded(
            f"A preview needs a working connection; the integration is {integration.status_label}."
        )
    result: Preview | None = None
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(integration=integration, trigger=Trigger.ADMIN)
            with client_for(integration) as client:
                _check_connection(client, integration)
                _fetch(client, integration, run, extend_lease=False)
                if run.created or run.updated:
                    resolve_references(integration)
                run.requests = client.requests
            hold = bool(integration.break_noted_at) and reviews_after_break(integration.organization_id)
            changes = provision_organization(
                organization_id=integration.organization_id, run_id=run.pk, hold_for_review=hold, dry_run=True
            )
            result = Preview(run=run, changes=changes)
            raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return result

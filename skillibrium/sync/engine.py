"""One sync run: check the account -> fetch pages -> map -> upsert -> resolve -> provision -> record."""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from skillibrium.core.models import recording_run
from skillibrium.integrations import health, review
from skillibrium.integrations.choices import Health, Trigger
from skillibrium.integrations.models import Integration, PlatformIncident, client_for
from skillibrium.integrations.relink import request_sync
from skillibrium.merge_client import MergeError, RelinkNeeded
from skillibrium.provisioning import first_sync
from skillibrium.provisioning.apply import Changes, provision_organization, reviews_after_break
from skillibrium.provisioning.profiles import held_profiles
from skillibrium.provisioning.streaming import Streaming

from . import log, reconcile
from .merge_status import check_connection, merge_sync_in_progress_since, next_watermark
from .models import RunAction, RunStatus, SyncRun
from .read import Progress, read_records
from .resolve import resolve_references

logger = logging.getLogger(__name__)

KEY_REJECTED = "Merge rejects Skillibrium's API key; syncs resume by themselves once it works again"


class CatchUpWaits(Exception):
    """The catch-up after a relink waits for Merge to read the provider again; it stays queued."""


def sync_integration(
    *,
    integration_id: int,
    trigger: Trigger,
    progress: Progress | None = None,
    waits: Callable[[Integration], bool] | None = None,
) -> SyncRun | None:
    """Run one sync unless another holds the integration's sync lease; returns None when it did not run.
    With `waits`, asked holding the lease (so a relink landing meanwhile is seen): raise CatchUpWaits."""
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
    if waits is not None and waits(Integration.objects.get(pk=integration_id)):
        integration.requeue_sync(Trigger(taken))
        raise CatchUpWaits
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
        integration=integration,
        trigger=trigger,
        modified_after=integration.sync_watermark,
        started_by_id=integration.sync_requested_by_id,
    )
    logger.info(
        "sync run %s of integration %s started (%s)",
        run.pk,
        integration.pk,
        trigger,
        extra={
            "event": "sync_run_started",
            "run_id": run.pk,
            "integration_id": integration.pk,
            "trigger": trigger,
        },
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
    gated = review.needs_review(integration)  # as the run starts: what it read is for the review alone
    hold_for_review = bool(integration.break_noted_at) and reviews_after_break(integration.organization_id)
    with client_for(integration) as client:
        try:
            reported = check_connection(client, integration)
            ceiling = merge_sync_in_progress_since(client, integration)
            full_read = reconcile.reads_everything(integration, Trigger(run.trigger), reported)
            run.modified_after = None if full_read else run.modified_after
            streaming = None if gated else _streaming(integration, reported, hold_for_review=hold_for_review)
            # What is read during a break or after one not yet reviewed: profile changes wait too.
            held = hold_for_review or (
                reported is not None and reviews_after_break(integration.organization_id)
            )
            newest = read_records(
                client,
                integration,
                run,
                progress=progress,
                provision=streaming,
                full_read=full_read,
                hold=held,
            )
            if run.created or run.updated:
                with run.timing("upsert"):
                    resolve_references(integration, hold_profiles=held, run_id=run.pk)
            run.held = held_profiles(run.pk) if held else 0
        except MergeError as error:
            run.requests, run.rate_limited = client.requests, client.rate_limited
            health.record_failure(integration, error)
            return run.finish(RunStatus.FAILED, error=str(error))
        run.requests, run.rate_limited = client.requests, client.rate_limited
    if reported is not None:
        # The directory is up to date with what Merge has; provisioning waits until the problem clears.
        health.record_degraded(integration, *reported)
        integration.sync_watermark = next_watermark(newest, ceiling)
        integration.save(update_fields=["sync_watermark"])
        run.warnings.append(f"Provisioning waits: {reported[0].label}.")
        return run.finish(RunStatus.SUCCEEDED)
    if integration.rekey_from_account:
        integration.rekey_from_account = ""
        integration.save(update_fields=["rekey_from_account"])
    if full_read:
        with run.timing("deactivate"):
            reconcile.sweep_run(integration, run)
    with run.timing("record"):
        watermark = next_watermark(newest, ceiling)
        full_pass = health.record_success(integration, watermark=watermark) or full_read
    if gated:
        # Not even if the review is confirmed meanwhile: the confirmation's own pass provisions everyone, with
        # invitations as the admin chose them.
        if full_read or not integration.review_summary_at:
            first_sync.store_summary(integration)
        run.warnings.append("Nothing was provisioned: the first sync waits for an admin's review.")
        return run.finish(RunStatus.SUCCEEDED)
    with run.timing("deactivate"):
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
    run.provisioned, run.deactivated = changes.created, changes.deactivated
    run.held += changes.held
    for email, error in changes.failed:
        run.skip({"id": email}, error)
    log.write(
        RunAction.SKIPPED,
        ((None, "", "", email, {"error": str(error)[:300]}) for email, error in changes.failed),
        run_id=run.pk,
    )
    run.warnings += [
        f"{email} is the last active admin and was not deactivated." for email in changes.kept_last_admin
    ]
    run.warnings += [
        f"{email} linked an integration and was deactivated: hand it over to another admin."
        for email in changes.owner_leaving
    ]


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
                check_connection(client, integration)
                read_records(client, integration, run, extend_lease=False)
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

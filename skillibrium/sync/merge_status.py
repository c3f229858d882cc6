"""Merge's word on a linked account before a run reads it: whether it needs a relink, which of its issues are
still current, whether Merge is writing meanwhile, and so where the next incremental read starts."""

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime

from skillibrium.integrations import issues as open_issues
from skillibrium.integrations.causes import classify
from skillibrium.integrations.choices import Cause
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeClient, RelinkNeeded

from .read import SOURCES

type Issue = dict[str, Any]


def check_connection(client: MergeClient, integration: Integration) -> tuple[Cause, str] | None:
    """Merge keeps serving old data while a relink is needed, so ask for the account's status first.
    Returns the cause of an ongoing issue that needs no relink (a provider outage, say), if any."""
    details = client.account_details()
    needs_relink = details.status == "RELINK_NEEDED"
    issues = _still_failing(client, integration, client.ongoing_issues(integration.merge_account_id))
    texts = [str(issue.get("error_description") or "") for issue in issues]
    open_issues.remember(integration, issues)
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


def merge_sync_in_progress_since(client: MergeClient, integration: Integration) -> dt.datetime | None:
    """While Merge is still writing, records it writes later may carry earlier stamps than we saw: the safe
    overlap is to keep the watermark at the start of Merge's sync in progress."""
    models = {SOURCES[integration.category][1], "hris.Employment"}
    starts = [
        parse_datetime(str(status.get("last_sync_start") or ""))
        for status in client.sync_status()
        if status.get("model_id") in models and status.get("status") == "SYNCING"
    ]
    return min((s for s in starts if s), default=None)


def reading_again(client: MergeClient, integration: Integration) -> bool:
    """After a relink Merge reads the provider again, and has nothing new until that read is done: while it
    is under way (SYNCING) or has not yet run since the break (its last result FAILED), a catch-up would
    find nothing and leave what changed to a later run."""
    models = {SOURCES[integration.category][1], "hris.Employment"}
    statuses = [s for s in client.sync_status() if s.get("model_id") in models]
    return any(s.get("status") == "SYNCING" or s.get("last_sync_result") == "FAILED" for s in statuses)


def next_watermark(newest: dt.datetime | None, ceiling: dt.datetime | None) -> dt.datetime | None:
    if newest and ceiling:
        return min(newest, ceiling - dt.timedelta(seconds=1))
    return newest

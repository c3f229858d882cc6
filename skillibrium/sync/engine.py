"""fetch -> map -> upsert -> resolve managers -> provision -> record. One run per call."""

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from skillibrium.directory.models import Person
from skillibrium.integrations import health
from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import BadRecord, MergeClient, MergeError, RelinkNeeded
from skillibrium.provisioning.apply import provision_organization

from .mapping import PERSON_FIELDS, Record, crm_user_fields, employee_fields
from .models import RunStatus, SyncRun, Trigger

logger = logging.getLogger(__name__)

SOURCES: dict[str, tuple[str, dict[str, str], Callable[[Record], dict[str, Any]]]] = {
    Category.HRIS: ("employees", {"expand": "team,employments"}, employee_fields),
    Category.CRM: ("users", {}, crm_user_fields),
}


LEASE_SECONDS = 600


def sync_integration(*, integration_id: int, trigger: Trigger) -> SyncRun | None:
    """Run one sync unless another holds the account's lease; returns None when it did not run."""
    integration = Integration.objects.select_related("organization").get(pk=integration_id)
    if not integration.can_sync:
        if trigger != Trigger.ADMIN:
            return None
        run = SyncRun.objects.create(integration=integration, trigger=trigger)
        return _finish(
            run, RunStatus.PAUSED, error=f"Not synced: the integration is {integration.status_label}."
        )
    if not integration.take_sync_lease(LEASE_SECONDS):
        return None
    try:
        run = _run(integration, trigger)
    finally:
        asked_again = integration.release_sync_lease()
    if asked_again:
        from .tasks import sync_linked_account

        sync_linked_account.enqueue(integration.pk, Trigger.WEBHOOK)
    return run


def _run(integration: Integration, trigger: Trigger) -> SyncRun:
    run = SyncRun.objects.create(
        integration=integration, trigger=trigger, modified_after=integration.sync_watermark
    )
    with MergeClient(category=integration.category, account_token=integration.account_token) as client:
        try:
            _check_connection(client, integration)
            newest = _fetch(client, integration, run)
        except MergeError as error:
            run.requests = client.requests
            health.record_failure(integration, error)
            return _finish(run, RunStatus.FAILED, error=str(error))
        run.requests = client.requests
    _resolve_managers(integration)
    changes = provision_organization(organization_id=integration.organization_id)
    run.created, run.deactivated = changes.created, changes.deactivated
    health.record_success(integration, watermark=newest)
    return _finish(run, RunStatus.SUCCEEDED)


def _check_connection(client: MergeClient, integration: Integration) -> None:
    """Merge keeps serving old data while a relink is needed, so ask for the account's status first."""
    details = client.account_details()
    if details.status == "RELINK_NEEDED":
        issues = client.ongoing_issues(integration.merge_account_id)
        texts = [str(issue.get("error_description") or "") for issue in issues]
        raise RelinkNeeded("; ".join(t for t in [*texts, details.status_detail] if t) or "Relink needed")


def _fetch(client: MergeClient, integration: Integration, run: SyncRun) -> dt.datetime | None:
    path, extra, to_fields = SOURCES[integration.category]
    params = {"include_deleted_data": "true", **extra}
    if integration.sync_watermark:
        params["modified_after"] = integration.sync_watermark.isoformat()
    newest = integration.sync_watermark
    for page in client.pages(path, params):
        run.pages += 1
        Integration.objects.filter(pk=integration.pk).update(
            sync_lease_until=timezone.now() + dt.timedelta(seconds=LEASE_SECONDS)
        )
        rows: dict[str, dict[str, Any]] = {}
        for record in page:
            try:
                rows[str(record["id"])] = to_fields(record)
            except (BadRecord, KeyError, TypeError, ValueError) as error:
                run.skipped += 1
                logger.warning("skipped record in run %s: %s", run.pk, error)
        run.updated += _upsert(integration, rows)
        stamps = [r["source_modified_at"] for r in rows.values() if r["source_modified_at"]]
        if stamps and (newest is None or max(stamps) > newest):
            newest = max(stamps)
    return newest


def _upsert(integration: Integration, rows: dict[str, dict[str, Any]]) -> int:
    """Write only what changed; returns how many existing people changed."""
    existing = {
        p.merge_id: p
        for p in Person.objects.filter(organization_id=integration.organization_id, merge_id__in=rows)
    }
    new, changed = [], []
    for merge_id, fields in rows.items():
        person = existing.get(merge_id)
        if person is None:
            new.append(
                Person(
                    organization_id=integration.organization_id,
                    integration=integration,
                    merge_id=merge_id,
                    **fields,
                )
            )
        elif any(getattr(person, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(person, name, value)
            changed.append(person)
    with transaction.atomic():
        Person.objects.bulk_create(new)
        Person.objects.bulk_update(changed, [*PERSON_FIELDS, "updated_at"])
    return len(changed)


def _resolve_managers(integration: Integration) -> None:
    people = Person.objects.filter(organization_id=integration.organization_id)
    ids = dict(people.values_list("merge_id", "pk"))
    stale = []
    for person in people.only("pk", "manager_id", "manager_merge_id"):
        manager_id = ids.get(person.manager_merge_id)
        if person.manager_id != manager_id:
            person.manager_id = manager_id
            stale.append(person)
    Person.objects.bulk_update(stale, ["manager"], batch_size=1000)


def _finish(run: SyncRun, status: RunStatus, error: str = "") -> SyncRun:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.save()
    return run

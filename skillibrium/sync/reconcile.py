"""Reconciliation: a full read of the source finds again what incremental reads missed (a page that left
records out, a list that ended early, a watermark that passed a record). Mark and sweep by run id: the full
read marks every record it reads; people it left out are "not seen at the source" and wait for an admin.
Absence is never evidence of leaving, so nobody is deactivated for it. Every step is a few set-based
statements, whatever the size of the directory."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from skillibrium.core.bulk import update_rows
from skillibrium.directory.models import EmploymentStatus, Person, SourceIdentity
from skillibrium.integrations.models import Integration
from skillibrium.provisioning import writes
from skillibrium.provisioning.apply import org_today
from skillibrium.provisioning.models import HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.provisioning.plan import trips_safeguard

from .models import SyncRun


def mark_seen(integration: Integration, merge_ids: list[str], *, run_id: int) -> None:
    """Every record a full read returned, changed or not (and those it could not use: they are there)."""
    if merge_ids:
        SourceIdentity.objects.filter(integration=integration, merge_id__any_of=merge_ids).exclude(
            seen_in_run=run_id
        ).update(seen_in_run=run_id)


def seen_again(organization_id: int, person_ids: list[int]) -> int:
    """People a read returned are at the source: no longer "not seen", and their review is withdrawn."""
    if not person_ids:
        return 0
    people = Person.objects.filter(organization_id=organization_id, pk__any_of=person_ids)
    back = list(people.filter(not_seen_since__isnull=False).values_list("pk", flat=True))
    return _clear(organization_id, back)


def _clear(organization_id: int, back: list[int]) -> int:
    if back:
        Person.objects.filter(organization_id=organization_id, pk__any_of=back).update(not_seen_since=None)
        HeldChange.objects.filter(
            organization_id=organization_id,
            person_id__in=back,
            reason=HoldReason.NOT_SEEN,
            status=HoldStatus.PENDING,
        ).update(status=HoldStatus.RELEASED, decided_at=timezone.now())
    return len(back)


@dataclass
class Sweep:
    back: int = 0  # not seen before, seen by this read
    not_seen: int = 0  # newly left out by this read
    held: int = 0  # of those, people with an active user: in the review queue
    trusted: bool = True  # False: so many were left out that the read itself is doubted; nothing marked


def sweep(integration: Integration, run: SyncRun) -> Sweep:
    """After a complete full read (every page came back, the last with a null `next`)."""
    people = Person.objects.filter(organization_id=integration.organization_id)
    identities = SourceIdentity.objects.filter(integration=integration)
    of_source = people.filter(Exists(identities.filter(person=OuterRef("pk"))))
    seen = Exists(identities.filter(person=OuterRef("pk"), seen_in_run=run.pk))
    back = list(of_source.filter(seen, not_seen_since__isnull=False).values_list("pk", flat=True))
    result = Sweep(back=_clear(integration.organization_id, back))
    missing = _last_seen(integration, of_source.filter(~seen, not_seen_since__isnull=True))
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization_id=integration.organization_id)
    if trips_safeguard(
        deactivations=len(missing),
        provisioned_users=of_source.count(),
        percent=policy.mass_deactivation_percent,
        minimum_users=policy.mass_deactivation_minimum_users,
    ):
        # A list that lost this many looks broken, not like people leaving: the next run reads it again.
        return Sweep(back=result.back, not_seen=len(missing), trusted=False)
    update_rows(Person, ["not_seen_since"], missing.items())
    result.not_seen = len(missing)
    result.held = _hold(integration, run, missing)
    return result


def _last_seen(integration: Integration, people: QuerySet[Person]) -> dict[int, dt.datetime]:
    """When a read last returned each of these people: the start of the last run that saw one of their
    records (or, that run gone, when the person was last written)."""
    rows = list(
        people.annotate(
            last_run=Max("identities__seen_in_run", filter=Q(identities__integration=integration))
        ).values_list("pk", "last_run", "updated_at")
    )
    started = dict(
        SyncRun.objects.filter(pk__in={r for _, r, _ in rows if r}).values_list("pk", "started_at")
    )
    return {pk: started.get(last_run, updated) for pk, last_run, updated in rows}


def _hold(integration: Integration, run: SyncRun, missing: dict[int, dt.datetime]) -> int:
    """Only people with an active user wait for review; leavers with positive evidence are deactivated by
    provisioning as usual, and nobody else has access to lose."""
    if not missing:
        return 0
    today = org_today(integration.organization)
    evidence = (
        Q(remote_was_deleted=True)
        | Q(employment_status=EmploymentStatus.INACTIVE)
        | Q(termination_date__lte=today)
    )
    active = (
        Person.objects.filter(organization_id=integration.organization_id, pk__any_of=list(missing))
        .filter(user__is_active=True)
        .exclude(evidence)
        .values_list("pk", "work_email")
    )
    return writes.hold_not_seen(
        integration.organization, [(pk, email, missing[pk]) for pk, email in active], run_id=run.pk
    )

"""Reconciliation: a full read of the source finds again what incremental reads missed (a page that left
records out, a list that ended early, a watermark that passed a record). Mark and sweep by run id: the full
read marks every record it reads; people it left out are "not seen at the source" and wait for an admin.
Absence is never evidence of leaving, so nobody is deactivated for it. Every step is a few set-based
statements, whatever the size of the directory."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from skillibrium.accounts.models import AccessOverride
from skillibrium.core.bulk import update_rows
from skillibrium.directory.models import EmploymentStatus, Person, SourceIdentity
from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration
from skillibrium.provisioning import writes
from skillibrium.provisioning.models import HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.provisioning.plan import trips_safeguard
from skillibrium.provisioning.scope import org_today

from .models import SyncRun


def mark_seen(
    integration: Integration, *, identity_ids: list[int], merge_ids: list[str], run_id: int
) -> None:
    """What a full read returned and the page wrote nothing for (the records it wrote carry the run's id
    already): unchanged records by their identities, and those it could not use by Merge id (they are
    there). One statement each, none when there is nothing to mark (a first sync)."""
    if identity_ids:
        SourceIdentity.objects.filter(pk__any_of=identity_ids).update(seen_in_run=run_id)
    if merge_ids:
        SourceIdentity.objects.filter(integration=integration, merge_id__any_of=merge_ids).update(
            seen_in_run=run_id
        )


def anyone_not_seen(organization_id: int) -> bool:
    """Whether a run need look out for people coming back (the usual answer, no, costs one query a run)."""
    return Person.objects.filter(organization_id=organization_id, not_seen_since__isnull=False).exists()


def seen_again(integration: Integration, *, person_ids: list[int], identity_ids: list[int]) -> int:
    """People a read returned (changed, or by one of their records, unchanged) are at the source: no longer
    "not seen", and their review is withdrawn. Only the people this source speaks for: a CRM still listing
    someone the HRIS no longer does answers nothing about them."""
    people = _spoken_for(integration).filter(not_seen_since__isnull=False)
    back: set[int] = set()
    if person_ids:
        back.update(people.filter(pk__any_of=person_ids).values_list("pk", flat=True))
    if identity_ids:
        back.update(people.filter(identities__pk__any_of=identity_ids).values_list("pk", flat=True))
    return _clear(integration.organization_id, sorted(back))


def _spoken_for(integration: Integration) -> QuerySet[Person]:
    """The people whose source this integration's category is (the HRIS, when it knows them too): whether a
    read of it saw them is what their being at the source means."""
    return Person.objects.filter(
        organization_id=integration.organization_id, source_category=integration.category
    )


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


def reads_everything(integration: Integration, trigger: Trigger, reported: object) -> bool:
    """Without a watermark there is nothing to read after. Otherwise, while the source reports no problem,
    everything is read (and compared) on the catch-up after a relink, on the first run after a break or a
    recovery, and when the organization's full read is due (weekly by default)."""
    if integration.sync_watermark is None:
        return True
    if reported is not None:
        return False
    after_break = (
        trigger == Trigger.RELINK or integration.provisioning_pending or bool(integration.break_noted_at)
    )
    return after_break or integration.full_read_due


def sweep_run(integration: Integration, run: SyncRun) -> None:
    """The read ended with a null `next` and no page failed: whom it left out is not seen at the source."""
    swept = sweep(integration, run)
    if not swept.trusted:
        run.warnings.append(
            f"The full read left out {swept.not_seen} people: too many to be leavers, so the list is doubted"
            " and nobody was marked; the next run reads everything again."
        )
        return
    if swept.not_seen:
        run.warnings.append(
            f"{swept.not_seen} people were not seen at the source; {swept.held} with access wait for review"
            " (absence deactivates nobody)."
        )
    integration.last_full_read_at = run.started_at
    integration.save(update_fields=["last_full_read_at"])


@dataclass
class Sweep:
    back: int = 0  # not seen before, seen by this read
    not_seen: int = 0  # newly left out by this read
    held: int = 0  # of those, people with an active user: in the review queue
    trusted: bool = True  # False: so many were left out that the read itself is doubted; nothing marked


def sweep(integration: Integration, run: SyncRun) -> Sweep:
    """After a complete full read (every page came back, the last with a null `next`)."""
    identities = SourceIdentity.objects.filter(integration=integration)
    of_source = _spoken_for(integration).filter(Exists(identities.filter(person=OuterRef("pk"))))
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
    """Only people with an active user wait for review (not one an admin keeps active by hand); leavers
    with positive evidence are deactivated by provisioning as
    usual, and nobody else has access to lose."""
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
        .exclude(user__membership__access_override=AccessOverride.KEPT_ACTIVE)
        .values_list("pk", "work_email")
    )
    return writes.hold_not_seen(
        integration.organization, [(pk, email, missing[pk]) for pk, email in active], run_id=run.pk
    )

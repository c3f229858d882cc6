"""The first sync of a new connection, reviewed before anything is provisioned.

`relink.connect` closes the gate for a new connection; while it is closed the sync engine reads the source
into the directory and provisions none of its people (scope.healthy_people leaves them out), and each complete
read stores what confirming would do: the planner's dry run over those people and its conflicts.
Confirm opens the gate and provisions everyone once; decline keeps it closed.
"""

from typing import Any

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.accounts.models import Membership
from skillibrium.core.models import record
from skillibrium.provisioning.models import ProvisioningPolicy

from .choices import ReviewState
from .models import Integration

EXAMPLES = 50  # emails or names listed per kind; the rest are counted ("and N more")


def needs_review(integration: Integration) -> bool:
    """Whether the integration's first sync waits for an admin (pending, or declined and not confirmed)."""
    return integration.awaiting_review


COUNTS = [
    "people",
    "create",
    "matched",
    "reactivate",
    "update",
    "deactivate",
    "held",
    "elsewhere",
    "duplicates",
    "without_email",
]
FILTERS = ("employment_statuses", "employment_types", "departments", "locations")


def summary(integration: Integration) -> dict[str, Any]:
    """The stored summary ({} until the first complete read has finished), every key present."""
    stored = dict(integration.review_summary or {})
    if not stored:
        return {}
    blank: dict[str, Any] = {name: 0 for name in COUNTS} | {f"{name}_examples": [] for name in COUNTS}
    blank |= {"matched_by": {}, "send_invitations": True}
    filters: dict[str, Any] = {name: [] for name in FILTERS} | {"invite_days_before_start": 0}
    return blank | stored | {"filters": filters | stored.get("filters", {})}


def compute(integration: Integration) -> dict[str, Any]:
    """What confirming would do now, from the directory as read: the planner's dry run over this source's
    people (creations, matches, conflicts) and the source's own duplicates and records without a work email.
    Aggregate queries and the planner's chunks: no query per person."""
    from skillibrium.directory.models import Person
    from skillibrium.provisioning.apply import provision_organization

    organization = integration.organization
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    changes = provision_organization(
        organization_id=organization.pk, dry_run=True, everyone=True, reviewing=integration.category
    )
    people = Person.objects.for_org(organization).filter(source_category=integration.category)
    with_email = people.exclude(work_email="").annotate(e=Lower("work_email"))
    # One user per email: of two records with one work email, the first gets it, the second nothing.
    duplicates = with_email.values("e").annotate(n=Count("id")).filter(n__gt=1).order_by("e")
    without = people.filter(work_email="").order_by("pk")
    preview = changes.preview
    return {
        "people": people.count(),
        "create": changes.created,
        "create_examples": preview.get("create", []),
        "matched": changes.matched,
        "matched_by": {"work email": changes.matched},
        "matched_examples": preview.get("link", []),
        "reactivate": changes.reactivated,
        "update": changes.updated,
        "deactivate": changes.deactivated,
        "deactivate_examples": preview.get("deactivate", []),
        "held": changes.held,
        "elsewhere": changes.elsewhere,
        "elsewhere_examples": preview.get("elsewhere", []),
        "duplicates": duplicates.count(),
        "duplicates_examples": [[d["e"], d["n"]] for d in duplicates[:EXAMPLES]],
        "without_email": without.count(),
        "without_email_examples": [
            f"{p.first_name} {p.last_name}".strip() or f"Record {p.pk}"
            for p in without.only("first_name", "last_name")[:EXAMPLES]
        ],
        "filters": filters_in_effect(policy),
        "send_invitations": policy.send_invitations,
    }


def filters_in_effect(policy: ProvisioningPolicy) -> dict[str, Any]:
    """Whom the policy admits, as the summary shows it (and tells whether it changed since)."""
    return {
        "employment_statuses": policy.employment_statuses or ["ACTIVE"],
        "employment_types": policy.employment_types,
        "departments": policy.departments,
        "locations": policy.locations,
        "invite_days_before_start": policy.invite_days_before_start,
    }


def store_summary(integration: Integration) -> dict[str, Any]:
    """Compute and keep the summary, while the review still waits (a confirm meanwhile wins)."""
    computed = compute(integration)
    now = timezone.now()
    Integration.objects.awaiting_review().filter(pk=integration.pk).update(
        review_summary=computed, review_summary_at=now
    )
    integration.review_summary, integration.review_summary_at = computed, now
    return computed


def recompute_waiting(organization_id: int) -> int:
    """After a change of filters: every waiting review's summary again. Returns how many."""
    waiting = Integration.objects.awaiting_review().filter(
        organization_id=organization_id, review_summary_at__isnull=False
    )
    integrations = list(waiting.select_related("organization"))
    for integration in integrations:
        store_summary(integration)
    return len(integrations)


def confirm(*, integration: Integration, membership: Membership | None, send_invitations: bool) -> bool:
    """Open the gate and provision everyone once. Under the row's lock: a second confirm (a double click,
    another admin) finds it open and does nothing (False). `membership` None: the command line."""
    from skillibrium.provisioning.tasks import provision_everyone

    with transaction.atomic():
        current = Integration.objects.select_for_update().get(pk=integration.pk)
        if not current.awaiting_review:
            return False
        current.review_state, current.reviewed_at = ReviewState.CONFIRMED, timezone.now()
        current.reviewed_by_id = membership.user_id if membership else None
        current.save(update_fields=["review_state", "reviewed_at", "reviewed_by"])
        record(
            organization_id=current.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.first_sync_confirmed",
            target=str(current),
            send_invitations=send_invitations,
            summary={k: v for k, v in (current.review_summary or {}).items() if isinstance(v, int)},
        )
        # In the confirmation's transaction: with the database task backend both are committed, or neither.
        provision_everyone.enqueue(current.organization_id, send_invitations)
    integration.refresh_from_db()
    return True


def decline(*, integration: Integration, membership: Membership | None) -> bool:
    """Nothing is provisioned and the gate stays closed: the admin can disconnect, or change the filters and
    confirm later. Returns False when the review was confirmed already."""
    with transaction.atomic():
        current = Integration.objects.select_for_update().get(pk=integration.pk)
        if not current.awaiting_review:
            return False
        current.review_state, current.reviewed_at = ReviewState.DECLINED, timezone.now()
        current.reviewed_by_id = membership.user_id if membership else None
        current.save(update_fields=["review_state", "reviewed_at", "reviewed_by"])
        record(
            organization_id=current.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.first_sync_declined",
            target=str(current),
        )
    integration.refresh_from_db()
    return True

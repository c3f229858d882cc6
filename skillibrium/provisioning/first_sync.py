"""What confirming a first sync's review would do: the planner's dry run over the waiting source's people and
its conflicts, stored on the integration after each complete read and after a change of filters. The gate
itself (confirm, decline) is integrations/review.py."""

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.models import Integration

from .models import ProvisioningPolicy

if TYPE_CHECKING:
    from .apply import Changes

EXAMPLES = 50  # emails or names listed per kind; the rest are counted ("and N more")


COUNTS = [
    "people",
    "create",
    "matched",  # existing users matched, all told: already linked, and found by work email
    "already_linked",
    "linked_by_email",
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
    if "linked_by_email" not in stored:
        # Stored before matches were told apart: its "matched" were the members found by work email.
        stored["linked_by_email"] = stored.get("matched", 0)
        stored["linked_by_email_examples"] = stored.pop("matched_examples", [])
    filters: dict[str, Any] = {name: [] for name in FILTERS} | {"invite_days_before_start": 0}
    return blank | stored | {"filters": filters | stored.get("filters", {})}


def compute(integration: Integration) -> dict[str, Any]:
    """What confirming would do now, from the directory as read: the planner's dry run over this source's
    people (creations, members found by work email, conflicts), the people who already are users (connected
    again after a Disconnect) and the source's own duplicates and records without a work email.
    Aggregate queries and the planner's chunks: no query per person."""
    from skillibrium.provisioning.apply import provision_organization

    organization = integration.organization
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    changes = provision_organization(
        organization_id=organization.pk, dry_run=True, everyone=True, reviewing=integration.category
    )
    # The people this source's current records speak for: not those only a former provider knew.
    current = SourceIdentity.objects.filter(person=OuterRef("pk"), integration=integration, superseded=False)
    people = Person.objects.for_org(organization).filter(
        Exists(current), source_category=integration.category
    )
    with_email = people.exclude(work_email="").annotate(e=Lower("work_email"))
    # One user per email: of two records with one work email, the first gets it, the second nothing.
    # Read once, counted here: grouping 100,000 emails costs more than the few groups it returns.
    duplicates = list(with_email.values_list("e").annotate(n=Count("id")).filter(n__gt=1).order_by("e"))
    without = people.filter(work_email="").order_by("pk")
    preview = changes.preview
    return {
        "people": people.count(),
        "create": changes.created,
        "create_examples": preview.get("create", []),
        **_matched(integration, people, changes),
        "reactivate": changes.reactivated,
        "update": changes.updated,
        "deactivate": changes.deactivated,
        "deactivate_examples": preview.get("deactivate", []),
        "held": changes.held,
        "elsewhere": changes.elsewhere,
        "elsewhere_examples": preview.get("elsewhere", []),
        "duplicates": len(duplicates),
        "duplicates_examples": [[e, n] for e, n in duplicates[:EXAMPLES]],
        "without_email": without.count(),
        "without_email_examples": [
            f"{p.first_name} {p.last_name}".strip() or f"Record {p.pk}"
            for p in without.only("first_name", "last_name")[:EXAMPLES]
        ],
        "filters": filters_in_effect(policy),
        "send_invitations": policy.send_invitations,
    }


def _matched(integration: Integration, people: QuerySet[Person], changes: "Changes") -> dict[str, Any]:
    """Existing users matched, told apart: people who already are users (their record linked before), and
    members nobody's record had, found by work email and linked on confirming."""
    linked = already_linked(integration, people)
    count = linked.count()
    return {
        "matched": count + changes.matched,
        "matched_by": {"already linked": count, "work email": changes.matched},
        "already_linked": count,
        "already_linked_examples": list(
            linked.order_by("user__email").values_list("user__email", flat=True)[:EXAMPLES]
        ),
        "linked_by_email": changes.matched,
        "linked_by_email_examples": changes.preview.get("link", []),
    }


def already_linked(integration: Integration, people: QuerySet[Person]) -> QuerySet[Person]:
    """Of the source's people, those its read found (a current record of this integration, seen by the
    latest complete read) whose person is a user already: they keep their account, nobody is created."""
    current = SourceIdentity.objects.filter(person=OuterRef("pk"), integration=integration, superseded=False)
    return people.filter(Exists(current), user__isnull=False, not_seen_since__isnull=True)


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

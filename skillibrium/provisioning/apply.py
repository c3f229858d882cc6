"""Turn the directory into Skillibrium users: plan in chunks, hold what needs review, apply the rest."""

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.bulk import StatisticsAsTablesGrow
from skillibrium.integrations import handoff
from skillibrium.integrations.models import Integration

from . import logins, profiles, snapshot, writes
from .models import ChangeKind, HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from .plan import Candidate, Plan, plan_provisioning, trips_safeguard
from .scope import chunks_of, could_leave, healthy_people, org_today, people_of_run


@dataclass
class Changes:
    created: int = 0
    reactivated: int = 0
    updated: int = 0
    deactivated: int = 0
    held: int = 0
    released: int = 0
    emails_changed: int = 0
    # Dry runs only: members found by work email and linked, and new people whose email a user of another
    # organization has (held for an admin, never created).
    matched: int = 0
    elsewhere: int = 0
    failed: list[tuple[str, Exception]] = field(default_factory=list)  # (email, why): skipped, reported
    kept_last_admin: list[str] = field(default_factory=list)
    owner_leaving: list[str] = field(default_factory=list)
    preview: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: "Changes") -> None:
        for name in ("created", "reactivated", "updated", "deactivated", "held", "emails_changed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add(self, kind: str, candidates: list[Candidate], limit: int = 50) -> None:
        names = self.preview.setdefault(kind, [])
        names.extend(c.email for c in candidates[: max(0, limit - len(names))])


def reviews_after_break(organization_id: int) -> bool:
    """Whether the organization holds every change that follows a break for an admin's review."""
    return ProvisioningPolicy.objects.filter(
        organization_id=organization_id, review_after_reconnection=True
    ).exists()


def provision_organization(
    *,
    organization_id: int,
    run_id: int | None = None,
    hold_for_review: bool = False,
    dry_run: bool = False,
    streamed: Changes | None = None,
    everyone: bool = False,
    reviewing: str | None = None,
    invite: bool | None = None,
) -> Changes:
    """`run_id`: the sync run this provisions for (None: an organization-wide pass); `hold_for_review`: hold
    every change for an admin (the organization reviews what follows a break); `everyone`: consider the whole
    organization, not only the run's people; `streamed`: what Streaming already applied for the run's people,
    whose plans are completed here; `reviewing`: plan only the people of this source, whose first sync waits
    for review (a dry run of what confirming does); `invite`: the admin's choice over the policy's."""
    organization = Organization.objects.get(pk=organization_id)
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    if invite is not None:
        policy.send_invitations = invite  # this pass only, never saved
    today = org_today(organization)
    people, ids, leaving_ids = healthy_people(organization, reviewing=reviewing), None, None
    if run_id is not None and not everyone:
        ids, leaving_ids = people_of_run(
            people, run_id, today, streamed=streamed is not None, invite_days=policy.invite_days_before_start
        )
    members = Membership.objects.filter(organization=organization, user__is_active=True)
    admins = members.filter(role=Role.ADMIN).count()

    leaving = sum(
        len(plan.deactivate) - len(plan.reconsidered)
        for plan in (
            _plan(c, today=today, policy=policy, active_admins=admins)
            for c in chunks_of(people.filter(could_leave(today)), leaving_ids)
        )
    )
    hold_deactivations = trips_safeguard(
        deactivations=leaving,
        provisioned_users=members.count(),
        percent=policy.mass_deactivation_percent,
        minimum_users=policy.mass_deactivation_minimum_users,
    )
    owners = {
        pk for pk in Integration.objects.for_org(organization).values_list("linked_by_id", flat=True) if pk
    }
    changes = streamed if streamed is not None else Changes()
    created_before, statistics = changes.created, StatisticsAsTablesGrow(User, Membership)
    emails: set[str] = set()  # dry runs: emails a user was counted for
    for candidates in chunks_of(people, ids):
        plan = _plan(candidates, today=today, policy=policy, active_admins=admins)
        admins = plan.admins_left
        if dry_run:
            _count_preview(organization, changes, plan, hold_deactivations, hold_for_review, emails)
            note_plan(changes, plan, owners)
            continue
        note_plan(changes, plan, owners)
        apply_or_skip(
            organization,
            policy,
            plan,
            changes,
            run_id=run_id,
            hold_deactivations=hold_deactivations,
            hold_everything=hold_for_review,
        )
        statistics.wrote(changes.created - created_before)
    if not dry_run:
        changes.released = _release_held(organization, today, policy)
    return changes


def _plan(
    candidates: list[Candidate], *, today: dt.date, policy: ProvisioningPolicy, active_admins: int
) -> Plan:
    """The chunk's plan, knowing which of its leavers an admin chose to keep (one query, for those only)."""
    leavers = [c.person_id for c in candidates if c.user_active and c.leaving_evidence(today)]
    rejected = writes.rejected_deactivations(leavers)
    return plan_provisioning(
        candidates, today=today, policy=policy, active_admins=active_admins, rejected=rejected
    )


def _count_preview(
    organization: Organization,
    changes: Changes,
    plan: Plan,
    hold_deactivations: bool,
    hold_everything: bool,
    emails: set[str],
) -> None:
    """What applying would do, counted the way _apply counts it (an address move may yet be held). The plan's
    creations narrow to those create_users makes: one user per email, none for an email a user has already
    (held for an admin instead)."""
    owners = dict(
        User.objects.annotate(e=Lower("email"))
        .filter(e__any_of=[c.email for c in plan.create])
        .values_list("e", "membership__organization_id")
    )
    elsewhere = [c for c in plan.create if c.email in owners and owners[c.email] != organization.pk]
    changes.elsewhere += len(elsewhere)
    changes.add("elsewhere", elsewhere)
    changes.held += sum(c.email in owners for c in plan.create)
    fresh = []
    for c in plan.create:
        if c.email not in owners and c.email not in emails:
            emails.add(c.email)
            fresh.append(c)
    plan.create = fresh
    changes.matched += len(plan.link)
    changes.add("link", plan.link)
    changes.emails_changed += len(plan.change_email)
    if hold_everything:
        kinds = (plan.create, plan.reactivate, plan.deactivate, plan.update, plan.change_email)
        changes.held += sum(len(kind) for kind in kinds)
        return
    changes.created += len(plan.create)
    changes.reactivated += len(plan.reactivate)
    changes.updated += len(plan.update)
    if hold_deactivations:
        changes.held += len(plan.deactivate)
    else:
        changes.held += len(plan.reconsidered)
        changes.deactivated += len(plan.deactivate) - len(plan.reconsidered)


def note_plan(changes: Changes, plan: Plan, owners: set[int]) -> None:
    for kind in ("create", "reactivate", "update", "deactivate"):
        changes.add(kind, getattr(plan, kind))
    changes.kept_last_admin += [c.email for c in plan.kept_last_admin]
    changes.owner_leaving += [c.email for c in plan.deactivate if c.user_id in owners]


def apply_or_skip(
    organization: Organization,
    policy: ProvisioningPolicy,
    plan: Plan,
    changes: Changes,
    *,
    run_id: int | None,
    hold_deactivations: bool = False,
    hold_everything: bool = False,
) -> None:
    """Applies the plan in one transaction; should the database refuse it (a user written meanwhile by
    someone else, say), each change on its own, so that one record that cannot be applied is skipped and
    reported while the rest of the organization is provisioned."""
    args = (organization, policy, run_id, hold_deactivations, hold_everything)
    try:
        with transaction.atomic():
            applied = _apply(plan, *args)
    except IntegrityError:
        for candidate, single in plan.one_by_one():
            try:
                with transaction.atomic():
                    changes.merge(_apply(single, *args))
            except IntegrityError as error:
                changes.failed.append((candidate.email, error))
        with transaction.atomic():
            writes.record_kept_admins(organization, plan.kept_last_admin)
    else:
        changes.merge(applied)


def _apply(
    plan: Plan,
    organization: Organization,
    policy: ProvisioningPolicy,
    run_id: int | None,
    hold_deactivations: bool,
    hold_everything: bool,
) -> Changes:
    plan, changes = dataclasses.replace(plan), Changes()  # what is held leaves this copy, not the caller's
    held = _held(plan, hold_deactivations, hold_everything)
    _keep_waiting(plan)
    writes.link_users(plan.link)
    today = org_today(organization)
    changes.held += writes.hold(organization, held, run_id=run_id, today=today, previous=plan.reconsidered)
    # Addresses first: one freed by a move (a rename) can go to a new person of the same batch.
    moved, blocked = logins.change_emails(organization, plan.change_email)
    changes.emails_changed += writes.record_email_changes(organization, moved)
    created, taken = writes.create_users(organization, plan.create, invite=policy.send_invitations)
    changes.created += created
    changes.reactivated += writes.set_active(organization, plan.reactivate, active=True)
    changes.deactivated += writes.set_active(organization, plan.deactivate, active=False, today=today)
    changes.updated += writes.update_profiles(organization, plan.update)
    writes.record_kept_admins(organization, plan.kept_last_admin)
    changes.held += logins.hold_taken(organization, taken, blocked, run_id=run_id, today=today)
    return changes


def _held(
    plan: Plan, hold_deactivations: bool, hold_everything: bool
) -> list[tuple[Candidate, ChangeKind, HoldReason]]:
    """What waits for an admin, taken out of the plan."""
    held: list[tuple[Candidate, ChangeKind, HoldReason]] = []
    if hold_everything:
        # After a break the organization reviews every change to its users, whatever its kind.
        reason = HoldReason.RECONNECTION_REVIEW
        held += [(c, ChangeKind.CREATE, reason) for c in plan.create]
        held += [(c, ChangeKind.REACTIVATE, reason) for c in plan.reactivate]
        held += [(c, ChangeKind.DEACTIVATE, reason) for c in plan.deactivate]
        held += [(c, ChangeKind.UPDATE, reason) for c in plan.update]
        held += [(c, ChangeKind.CHANGE_EMAIL, reason) for c in plan.change_email]
        plan.create, plan.reactivate, plan.deactivate, plan.update, plan.change_email = [], [], [], [], []
    elif hold_deactivations:
        held += [(c, ChangeKind.DEACTIVATE, HoldReason.MASS_DEACTIVATION) for c in plan.deactivate]
        plan.deactivate = []
    else:
        # Rejected before: the admin decides again, now with the new evidence, rather than the run.
        again = [c for c in plan.deactivate if c.person_id in plan.reconsidered]
        held += [(c, ChangeKind.DEACTIVATE, HoldReason.NEW_EVIDENCE) for c in again]
        plan.deactivate = [c for c in plan.deactivate if c.person_id not in plan.reconsidered]
    return held


KINDS = {
    "create": ChangeKind.CREATE,
    "reactivate": ChangeKind.REACTIVATE,
    "deactivate": ChangeKind.DEACTIVATE,
    "update": ChangeKind.UPDATE,
    "change_email": ChangeKind.CHANGE_EMAIL,
}


def _keep_waiting(plan: Plan) -> None:
    """A change held for review after a break waits for the admin, and one the admin rejected stays undone
    while its facts are the same: a later run (the break considered) takes them out of its plan. One query
    per chunk."""
    people = [c.person_id for name in KINDS for c in getattr(plan, name)]
    if not people:
        return
    held = HeldChange.objects.filter(
        person__pk__any_of=people,
        reason=HoldReason.RECONNECTION_REVIEW,
        status__in=[HoldStatus.PENDING, HoldStatus.REJECTED],
    ).values_list("person_id", "kind", "status", "evidence_key")
    waiting = {(person, kind) for person, kind, status, _ in held if status == HoldStatus.PENDING}
    rejected = {(person, kind, key) for person, kind, status, key in held if status == HoldStatus.REJECTED}

    def stays(c: Candidate, kind: ChangeKind) -> bool:
        return (c.person_id, kind) in waiting or (c.person_id, kind, c.decision_key(kind)) in rejected

    for name, kind in KINDS.items():
        setattr(plan, name, [c for c in getattr(plan, name) if not stays(c, kind)])


def _release_held(organization: Organization, today: dt.date, policy: ProvisioningPolicy) -> int:
    """A held deactivation is released when the person is back without leaving evidence."""
    pending = list(
        HeldChange.objects.filter(organization=organization, status=HoldStatus.PENDING).select_related(
            "person__user__membership"
        )
    )
    released = []
    # Read together: a queue of thousands (a held break, a mass deactivation) costs a few queries, not 2 each.
    for held, candidate in zip(pending, snapshot.candidates([h.person for h in pending]), strict=True):
        if held.reason == HoldReason.NOT_SEEN:
            # Released when a read sees the person again (or nobody has access left to lose).
            still_needed = (
                candidate.not_seen and candidate.user_active and candidate.user_override != "active"
            )
        elif held.kind == ChangeKind.UPDATE:
            names = candidate.user_active and candidate.names_differ
            still_needed = names or profiles.waiting(held)
        else:
            still_needed = _still_needed(candidate, held.kind, today, policy)
        if not still_needed:
            held.status, held.decided_at = HoldStatus.RELEASED, timezone.now()
            released.append(held)
    HeldChange.objects.bulk_update(released, ["status", "decided_at"])
    handoff.owners_back(
        h.person.user_id for h in released if h.kind == ChangeKind.DEACTIVATE and h.person.user_id
    )
    return len(released)


def _still_needed(c: Candidate, kind: str, today: dt.date, policy: ProvisioningPolicy) -> bool:
    """Whether a held change still has something to do: a person who came back, a user created or an
    address moved meanwhile, release it."""
    if kind == ChangeKind.DEACTIVATE:
        return bool(c.leaving_evidence(today)) and c.user_active and c.user_override != "active"
    if kind == ChangeKind.CHANGE_EMAIL:
        return c.user_id is not None and bool(c.email) and c.email != c.user_email.lower()
    if kind == ChangeKind.CREATE:
        return c.user_id is None and c.is_admitted(policy, today)
    reactivates = c.user_id is not None and not c.user_active and c.user_override != "deactivated"
    return reactivates and c.is_admitted(policy, today)

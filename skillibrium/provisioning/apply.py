"""Turn the directory into Skillibrium users: plan in chunks, hold what needs review, apply the rest."""

import dataclasses
import datetime as dt
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core.bulk import StatisticsAsTablesGrow
from skillibrium.directory.models import EmploymentStatus, Person, SourceIdentity
from skillibrium.integrations.choices import Health
from skillibrium.integrations.models import Integration

from . import logins, writes
from .models import ChangeKind, HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from .plan import Candidate, Plan, plan_provisioning, trips_safeguard

CHUNK = 2000


@dataclass
class Changes:
    created: int = 0
    reactivated: int = 0
    updated: int = 0
    deactivated: int = 0
    held: int = 0
    released: int = 0
    emails_changed: int = 0
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


def org_today(organization: Organization) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()


def could_leave(today: dt.date) -> Q:
    """Whom a plan could deactivate: people with positive evidence and an active user, or with no user yet
    (their email may match a member's). Everyone else is ruled out without reading them."""
    evidence = (
        Q(remote_was_deleted=True)
        | Q(employment_status=EmploymentStatus.INACTIVE)
        | Q(termination_date__lte=today)
    )
    return evidence & (Q(user__isnull=True) | Q(user__is_active=True))


def leavers_waiting(integration: Integration) -> int:
    """People of this source with positive evidence of leaving whose user is still active: the deactivations
    an unhealthy connection holds back."""
    today = org_today(integration.organization)
    people = Person.objects.for_org(integration.organization).filter(source_category=integration.category)
    return people.filter(could_leave(today), user__is_active=True).count()


def _healthy(organization: Organization) -> QuerySet[Person]:
    """The organization's people, but for those whose source is not healthy: nothing of theirs applies."""
    unhealthy = Integration.objects.for_org(organization).exclude(
        health__in=[Health.HEALTHY, Health.CATCHING_UP]
    )
    categories = list(unhealthy.values_list("category", flat=True))
    return Person.objects.for_org(organization).exclude(source_category__in=categories)


def reviews_after_break(organization_id: int) -> bool:
    """Whether the organization holds every change that follows a break for an admin's review."""
    return ProvisioningPolicy.objects.filter(
        organization_id=organization_id, review_after_reconnection=True
    ).exists()


def _of_run(
    people: QuerySet[Person], run_id: int, today: dt.date, *, streamed: bool, invite_days: int
) -> tuple[array[int], array[int]]:
    """Whom a run looks at: the people it touched, those whose termination date has come, pre-hires whose
    invitation is due (their record need not change on that day) and those held (ids, ascending); and which
    of them could leave. Read once, each part by its own index or scan: a chunk then costs an index lookup,
    not this filter over the whole organization."""
    touched = people.filter(Exists(SourceIdentity.objects.filter(person=OuterRef("pk"), seen_in_run=run_id)))
    if streamed:
        # Its batches were planned as they were written, all but deactivations: only those who could leave
        # are planned again, together, so that the safeguard counts every deactivation of the run at once.
        touched = touched.filter(could_leave(today))
    due = people.filter(user__is_active=True, termination_date__lte=today)
    starting = people.filter(
        user__isnull=True, start_date__gt=today, start_date__lte=today + dt.timedelta(days=invite_days)
    )
    held = people.filter(Exists(HeldChange.objects.filter(person=OuterRef("pk"), status=HoldStatus.PENDING)))
    leaving = ExpressionWrapper(could_leave(today), output_field=BooleanField())
    # Unordered parts (SQLite allows no ORDER BY inside a UNION), ordered as a whole.
    parts = [
        part.annotate(leaving=leaving).order_by().values_list("pk", "leaving")
        for part in (touched, due, starting, held)
    ]
    ids, leaving_ids = array("q"), array("q")
    for pk, could in parts[0].union(*parts[1:]).order_by("pk").iterator(chunk_size=20_000):
        ids.append(pk)
        if could:
            leaving_ids.append(pk)
    return ids, leaving_ids


def _chunks(people: QuerySet[Person], ids: array[int] | None = None) -> Iterator[list[Candidate]]:
    """Candidates in chunks: of all these people, or only of those with `ids` among them."""
    if ids is None:
        yield from writes.candidate_chunks(people, CHUNK)
        return
    for start in range(0, len(ids), CHUNK):
        chunk = people.filter(pk__any_of=ids[start : start + CHUNK].tolist())
        yield from writes.candidate_chunks(chunk, CHUNK)


@dataclass
class Streaming:
    """Provisions the people each batch of pages wrote while the next pages are fetched: creations,
    reactivations and profile updates. Deactivations wait for the end of the run (provision_organization
    with these changes), where the safeguard counts them all before any applies."""

    organization: Organization
    policy: ProvisioningPolicy
    changes: Changes = field(default_factory=Changes)
    # The users table grows as this runs: keep each chunk's lookups by email on the index.
    statistics: StatisticsAsTablesGrow = field(
        default_factory=lambda: StatisticsAsTablesGrow(User, Membership)
    )

    @classmethod
    def start(cls, organization_id: int) -> "Streaming":
        organization = Organization.objects.get(pk=organization_id)
        policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
        return cls(organization, policy)

    def __call__(self, person_ids: list[int]) -> None:
        if not person_ids:
            return
        today = org_today(self.organization)
        people = _healthy(self.organization).filter(pk__any_of=person_ids)
        for candidates in _chunks(people):
            plan = plan_provisioning(candidates, today=today, policy=self.policy, active_admins=0)
            plan.deactivate, plan.kept_last_admin = [], []
            _note(self.changes, plan, owners=set())
            _apply_or_skip(self.organization, self.policy, plan, self.changes, run_id=None)
        self.statistics.wrote(self.changes.created)

    def users_for_new_people(self, people: list[Mapping[str, Any]]) -> dict[int, int | None]:
        """Plans people about to be written for the first time (their person columns, by position), so that
        each person row is written once, with its user if it gets one. Only people whose email no user has:
        the others (a member to match, someone else's email) are planned by the batch's pass once written."""
        today = org_today(self.organization)
        taken = writes.users_with_emails(p["work_email"] for p in people if p["work_email"])
        first: dict[str, int] = {}  # email -> the first of these people with it
        for index, person in enumerate(people):
            first.setdefault(person["work_email"], index)
        planned = [i for e, i in first.items() if e and e not in taken]
        plan = plan_provisioning(
            [_new_candidate(people[i]) for i in planned], today=today, policy=self.policy, active_admins=0
        )
        _note(self.changes, plan, owners=set())
        user_ids = writes.insert_users(self.organization, plan.create, invite=self.policy.send_invitations)
        self.changes.created += len(user_ids)
        self.statistics.wrote(self.changes.created)
        users = dict(zip((c.email for c in plan.create), user_ids, strict=True))
        return {i: users.get(people[i]["work_email"]) for i in planned}


def _new_candidate(person: Mapping[str, Any]) -> Candidate:
    return Candidate(
        person_id=0,
        email=person["work_email"],
        first_name=person["first_name"],
        last_name=person["last_name"],
        employment_status=person["employment_status"],
        employment_type=person["employment_type"],
        department=person.get("department", ""),
        location=person.get("location", ""),
        termination_date=person["termination_date"],
        start_date=person["start_date"],
        remote_was_deleted=person["remote_was_deleted"],
        source_category=person.get("source_category", "hris"),
    )


def provision_organization(
    *,
    organization_id: int,
    run_id: int | None = None,
    hold_for_review: bool = False,
    dry_run: bool = False,
    streamed: Changes | None = None,
    everyone: bool = False,
) -> Changes:
    """`run_id`: the sync run this provisions for (None: an organization-wide pass); `hold_for_review`: hold
    every change for an admin (the organization reviews what follows a break); `everyone`: consider the whole
    organization, not only the run's people; `streamed`: what Streaming already applied for the run's people,
    whose plans are completed here."""
    organization = Organization.objects.get(pk=organization_id)
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    today = org_today(organization)
    people, ids, leaving_ids = _healthy(organization), None, None
    if run_id is not None and not everyone:
        ids, leaving_ids = _of_run(
            people, run_id, today, streamed=streamed is not None, invite_days=policy.invite_days_before_start
        )
    members = Membership.objects.filter(organization=organization, user__is_active=True)
    admins = members.filter(role=Role.ADMIN).count()

    leaving = sum(
        len(plan.deactivate) - len(plan.reconsidered)
        for plan in (
            _plan(c, today=today, policy=policy, active_admins=admins)
            for c in _chunks(people.filter(could_leave(today)), leaving_ids)
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
    for candidates in _chunks(people, ids):
        plan = _plan(candidates, today=today, policy=policy, active_admins=admins)
        admins = plan.admins_left
        _note(changes, plan, owners)
        if dry_run:
            _count_preview(changes, plan, hold_deactivations, hold_for_review)
            continue
        _apply_or_skip(
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


def _count_preview(changes: Changes, plan: Plan, hold_deactivations: bool, hold_everything: bool) -> None:
    """What applying would do, counted the way _apply counts it (an address move may yet be held)."""
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


def _note(changes: Changes, plan: Plan, owners: set[int]) -> None:
    for kind in ("create", "reactivate", "update", "deactivate"):
        changes.add(kind, getattr(plan, kind))
    changes.kept_last_admin += [c.email for c in plan.kept_last_admin]
    changes.owner_leaving += [c.email for c in plan.deactivate if c.user_id in owners]


def _apply_or_skip(
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


def _release_held(organization: Organization, today: dt.date, policy: ProvisioningPolicy) -> int:
    """A held deactivation is released when the person is back without leaving evidence."""
    pending = HeldChange.objects.filter(organization=organization, status=HoldStatus.PENDING).select_related(
        "person__user"
    )
    released = []
    for held in pending:
        candidate = writes.candidates([held.person])[0]
        if held.reason == HoldReason.NOT_SEEN:
            # Released when a read sees the person again (or nobody has access left to lose).
            still_needed = candidate.not_seen and candidate.user_active
        else:
            still_needed = _still_needed(candidate, held.kind, today, policy)
        if not still_needed:
            held.status, held.decided_at = HoldStatus.RELEASED, timezone.now()
            released.append(held)
    HeldChange.objects.bulk_update(released, ["status", "decided_at"])
    return len(released)


def _still_needed(c: Candidate, kind: str, today: dt.date, policy: ProvisioningPolicy) -> bool:
    """Whether a held change still has something to do: a person who came back, a user created or an
    address moved meanwhile, release it."""
    if kind == ChangeKind.DEACTIVATE:
        return bool(c.leaving_evidence(today)) and c.user_active
    if kind == ChangeKind.CHANGE_EMAIL:
        return c.user_id is not None and bool(c.email) and c.email != c.user_email.lower()
    if kind == ChangeKind.CREATE:
        return c.user_id is None and c.is_admitted(policy, today)
    if kind == ChangeKind.UPDATE:
        return c.user_active and (c.first_name, c.last_name) != (c.user_first_name, c.user_last_name)
    return c.user_id is not None and not c.user_active and c.is_admitted(policy, today)

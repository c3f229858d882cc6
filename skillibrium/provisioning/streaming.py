"""Provisioning while a sync's pages arrive: each written batch's people planned and applied at once (but for
deactivations), and people about to be written for the first time given their user in the same write."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skillibrium.accounts.models import Membership, Organization, User
from skillibrium.core.bulk import StatisticsAsTablesGrow

from . import writes
from .apply import Changes, apply_or_skip, note_plan
from .models import ProvisioningPolicy
from .plan import Candidate, plan_provisioning
from .scope import chunks_of, healthy_people, org_today


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
        people = healthy_people(self.organization).filter(pk__any_of=person_ids)
        for candidates in chunks_of(people):
            plan = plan_provisioning(candidates, today=today, policy=self.policy, active_admins=0)
            plan.deactivate, plan.kept_last_admin = [], []
            note_plan(self.changes, plan, owners=set())
            apply_or_skip(self.organization, self.policy, plan, self.changes, run_id=None)
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
        note_plan(self.changes, plan, owners=set())
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

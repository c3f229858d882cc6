"""Decide, without touching the database, who gets a Skillibrium user, who is updated, who loses access."""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# What each source tells about a person (Merge's HRIS Employee, CRM User). A filter on something a source
# does not supply does not apply to its people: CRM users have no department, location or employment type,
# and such a filter would otherwise exclude every one of them.
SUPPLIED_BY_SOURCE = {
    "hris": frozenset({"employment_status", "employment_type", "department", "location"}),
    "crm": frozenset({"employment_status"}),
}


class Admits(Protocol):
    invite_days_before_start: int

    def admits(
        self, *, status: str, employment_type: str | None, department: str | None, location: str | None
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    employment_status: str = "ACTIVE"
    employment_type: str = ""
    department: str = ""
    location: str = ""
    termination_date: dt.date | None = None
    start_date: dt.date | None = None
    remote_was_deleted: bool = False
    # Left out of the latest complete read of the source: no evidence of leaving, but no grounds for access.
    not_seen: bool = False
    user_id: int | None = None
    user_active: bool = False
    user_is_admin: bool = False
    user_first_name: str = ""
    user_last_name: str = ""
    user_email: str = ""
    source_category: str = "hris"
    # An admin's hand decision ("active", "deactivated", or none): what the source says does not undo it.
    user_override: str = ""
    matched_by_email: bool = False  # a member who is nobody's person yet, found by this person's email

    def leaving_evidence(self, today: dt.date) -> str:
        """Positive evidence only: absence from a page, a run or a filter never counts."""
        if self.remote_was_deleted:
            return "deleted in the source system"
        if self.employment_status == "INACTIVE":
            return "employment status is inactive"
        if self.termination_date is not None and self.termination_date <= today:
            return f"terminated on {self.termination_date.isoformat()}"
        return ""

    @property
    def names_differ(self) -> bool:
        """Whether the user's name is not the person's."""
        return (self.first_name, self.last_name) != (self.user_first_name, self.user_last_name)

    def decision_key(self, kind: str) -> str:
        """The facts a decision on this kind of change is about: a rejection holds until they change (the
        leaving or returning evidence, the name, or the address)."""
        if kind in ("deactivate", "reactivate"):
            return self.evidence_key()
        return f"{self.first_name} {self.last_name}"[:128] if kind == "update" else self.email

    def evidence_key(self) -> str:
        """The facts a decision on deactivating this person was about: a change in any is new evidence."""
        return (
            f"deleted={self.remote_was_deleted};status={self.employment_status};ends={self.termination_date}"
        )

    def is_admitted(self, policy: Admits, today: dt.date) -> bool:
        supplied = SUPPLIED_BY_SOURCE.get(self.source_category, SUPPLIED_BY_SOURCE["hris"])
        admitted = policy.admits(
            status=self.employment_status,
            employment_type=self.employment_type if "employment_type" in supplied else None,
            department=self.department if "department" in supplied else None,
            location=self.location if "location" in supplied else None,
        )
        return (
            bool(self.email)
            and admitted
            and not self.not_seen
            and not self.leaving_evidence(today)
            and self.is_due(policy, today)
        )

    def is_due(self, policy: Admits, today: dt.date) -> bool:
        """A pre-hire is provisioned (and invited) only from a few days before the start date."""
        opens = today + dt.timedelta(days=policy.invite_days_before_start)
        return self.start_date is None or self.start_date <= opens


@dataclass
class Plan:
    create: list[Candidate] = field(default_factory=list)
    reactivate: list[Candidate] = field(default_factory=list)
    update: list[Candidate] = field(default_factory=list)
    deactivate: list[Candidate] = field(default_factory=list)
    # Users whose person's work email changed at the source: their sign-in email follows.
    change_email: list[Candidate] = field(default_factory=list)
    # Members found by email, linked to their person from now on: found by link, not by an address, later.
    link: list[Candidate] = field(default_factory=list)
    kept_last_admin: list[Candidate] = field(default_factory=list)
    # Users whose access an admin set by hand, which the source would change: left as the admin set it.
    kept_override: list[Candidate] = field(default_factory=list)
    # Deactivations an admin rejected on the same evidence: left alone, not asked again.
    kept_rejected: list[Candidate] = field(default_factory=list)
    # Deactivations rejected before on other evidence: person id -> the rejected held change, to ask again.
    reconsidered: dict[int, int] = field(default_factory=dict)
    admins_left: int = 0

    def one_by_one(self) -> Iterator[tuple[Candidate, "Plan"]]:
        """Each change on its own, to apply what can be when a batch as a whole could not."""
        for kind in ("create", "reactivate", "update", "deactivate", "change_email", "link"):
            for c in getattr(self, kind):
                single = Plan(admins_left=self.admins_left)
                setattr(single, kind, [c])
                if c.person_id in self.reconsidered:
                    single.reconsidered = {c.person_id: self.reconsidered[c.person_id]}
                yield c, single

    @property
    def is_empty(self) -> bool:
        return not (self.create or self.reactivate or self.update or self.deactivate or self.change_email)


type Rejections = Mapping[int, tuple[int, str]]  # person id -> (rejected held change, its evidence key)


def plan_provisioning(
    candidates: list[Candidate],
    *,
    today: dt.date,
    policy: Admits,
    active_admins: int,
    rejected: Rejections | None = None,
) -> Plan:
    """`rejected`: the latest deactivation an admin rejected, of those people who have one."""
    plan = Plan(admins_left=active_admins)
    linked: set[int] = set()
    for c in candidates:
        if c.matched_by_email and c.user_id not in linked:
            linked.add(c.user_id or 0)
            plan.link.append(c)
        if c.user_id is None:
            if c.is_admitted(policy, today):
                plan.create.append(c)
            continue
        if c.user_active and c.leaving_evidence(today):
            if c.user_override == "active":
                plan.kept_override.append(c)
                continue
            previous = (rejected or {}).get(c.person_id)
            if previous is not None and previous[1] == c.evidence_key():
                plan.kept_rejected.append(c)
                continue
            if c.user_is_admin and plan.admins_left <= 1:
                plan.kept_last_admin.append(c)
                continue
            plan.admins_left -= c.user_is_admin
            plan.deactivate.append(c)
            if previous is not None:
                plan.reconsidered[c.person_id] = previous[0]
        elif not c.user_active and c.is_admitted(policy, today):
            if c.user_override == "deactivated":
                plan.kept_override.append(c)
                continue
            plan.reactivate.append(c)
        elif c.names_differ and c.user_active:
            plan.update.append(c)
        _follow_email(plan, c)
    return plan


def _follow_email(plan: Plan, c: Candidate) -> None:
    """Whoever can sign in signs in with the address the source has for them now (a deactivated account's
    address follows once it is reactivated; a leaver's stays, whatever becomes of it)."""
    signs_in = c.user_active or (plan.reactivate and plan.reactivate[-1] is c)
    leaving = plan.deactivate and plan.deactivate[-1] is c
    if c.user_id is not None and signs_in and not leaving and c.email and c.email != c.user_email.lower():
        plan.change_email.append(c)


def trips_safeguard(*, deactivations: int, provisioned_users: int, percent: int, minimum_users: int) -> bool:
    """Over `percent` of provisioned users leaving in one run looks like a broken source, not attrition."""
    if provisioned_users < minimum_users:
        return False
    return deactivations * 100 > provisioned_users * percent

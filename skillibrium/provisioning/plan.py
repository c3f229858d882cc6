"""Decide, without touching the database, who gets a Skillibrium user and who loses access."""

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    person_id: int
    email: str
    employment_status: str
    termination_date: dt.date | None
    remote_was_deleted: bool
    user_id: int | None = None
    user_active: bool = False
    user_is_admin: bool = False

    def has_left(self, today: dt.date) -> bool:
        """Positive evidence only: absence from a page or a run never counts."""
        ended = self.termination_date is not None and self.termination_date <= today
        return self.remote_was_deleted or self.employment_status == "INACTIVE" or ended

    def wants_access(self, today: dt.date) -> bool:
        return bool(self.email) and self.employment_status == "ACTIVE" and not self.has_left(today)


@dataclass
class Plan:
    create: list[Candidate] = field(default_factory=list)
    reactivate: list[Candidate] = field(default_factory=list)
    deactivate: list[Candidate] = field(default_factory=list)
    kept_last_admin: list[Candidate] = field(default_factory=list)


def plan_provisioning(candidates: list[Candidate], *, today: dt.date, active_admins: int) -> Plan:
    plan = Plan()
    admins_left = active_admins
    for candidate in candidates:
        if candidate.user_id is None:
            if candidate.wants_access(today):
                plan.create.append(candidate)
        elif candidate.has_left(today) and candidate.user_active:
            if candidate.user_is_admin and admins_left <= 1:
                plan.kept_last_admin.append(candidate)
                continue
            admins_left -= candidate.user_is_admin
            plan.deactivate.append(candidate)
        elif candidate.wants_access(today) and not candidate.user_active:
            plan.reactivate.append(candidate)
    return plan

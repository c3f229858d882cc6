import datetime as dt

import pytest

from skillibrium.provisioning.plan import Candidate, plan_provisioning, trips_safeguard

TODAY = dt.date(2026, 11, 25)


class Policy:
    invite_days_before_start = 7

    def __init__(self, statuses: tuple[str, ...] = ("ACTIVE",), types: tuple[str, ...] = ()) -> None:
        self.statuses, self.types = statuses, types

    def admits(self, *, status: str, employment_type: str, department: str, location: str) -> bool:
        return status in self.statuses and (not self.types or employment_type in self.types)


def candidate(n: int, **fields: object) -> Candidate:
    return Candidate(**({"person_id": n, "email": f"p{n}@example.com"} | fields))  # type: ignore[arg-type]


def plan(people: list[Candidate], admins: int = 1, policy: Policy | None = None):  # type: ignore[no-untyped-def]
    return plan_provisioning(people, today=TODAY, policy=policy or Policy(), active_admins=admins)


def test_admitted_people_with_email_are_created() -> None:
    result = plan([candidate(1), candidate(2, email=""), candidate(3, employment_status="PENDING")])
    assert [c.person_id for c in result.create] == [1]


def test_filters_decide_who_is_created_but_never_deactivate() -> None:
    people = [
        candidate(1, employment_type="CONTRACTOR"),
        candidate(2, employment_type="FULL_TIME"),
        candidate(3, user_id=3, user_active=True, employment_type="CONTRACTOR"),
    ]
    result = plan(people, policy=Policy(types=("FULL_TIME",)))
    assert [c.person_id for c in result.create] == [2]
    assert result.deactivate == []


def test_deactivation_needs_positive_evidence() -> None:
    people = [
        candidate(1, user_id=1, user_active=True, employment_status="INACTIVE"),
        candidate(2, user_id=2, user_active=True, termination_date=TODAY),
        candidate(3, user_id=3, user_active=True, remote_was_deleted=True),
        candidate(4, user_id=4, user_active=True, termination_date=TODAY + dt.timedelta(days=1)),
        candidate(5, user_id=5, user_active=True),
    ]
    result = plan(people)
    assert [c.person_id for c in result.deactivate] == [1, 2, 3]
    assert result.create == result.reactivate == []


def test_rehire_reactivates() -> None:
    result = plan([candidate(1, user_id=1, user_active=False)])
    assert [c.person_id for c in result.reactivate] == [1]


def test_name_change_updates_the_profile() -> None:
    person = candidate(1, user_id=1, user_active=True, first_name="Ada", user_first_name="Adaline")
    assert [c.person_id for c in plan([person]).update] == [1]


def test_last_admin_is_never_deactivated() -> None:
    admin = candidate(1, user_id=1, user_active=True, user_is_admin=True, employment_status="INACTIVE")
    result = plan([admin])
    assert result.deactivate == []
    assert result.kept_last_admin == [admin]


def test_one_of_two_admins_may_leave_but_not_both() -> None:
    admins = [
        candidate(n, user_id=n, user_active=True, user_is_admin=True, employment_status="INACTIVE")
        for n in (1, 2)
    ]
    result = plan(admins, admins=2)
    assert [c.person_id for c in result.deactivate] == [1]
    assert [c.person_id for c in result.kept_last_admin] == [2]


@pytest.mark.parametrize(
    ("leaving", "users", "trips"),
    [(2, 10, False), (3, 10, True), (20, 100, False), (21, 100, True), (9, 9, False)],
)
def test_mass_deactivation_safeguard(leaving: int, users: int, trips: bool) -> None:
    assert (
        trips_safeguard(deactivations=leaving, provisioned_users=users, percent=20, minimum_users=10) is trips
    )


def test_item_3_a_rejected_deactivation_is_kept_until_its_evidence_changes() -> None:
    """Issue item 3: the plan leaves a rejected leaver alone on the same evidence and asks again on new."""
    today = dt.date(2026, 12, 1)
    leaver = candidate(1, user_id=1, user_active=True, termination_date=dt.date(2026, 11, 30))
    rejected = {1: (7, leaver.evidence_key())}
    same = plan_provisioning([leaver], today=today, policy=Policy(), active_admins=1, rejected=rejected)
    assert (same.deactivate, same.kept_rejected) == ([], [leaver])

    deleted = candidate(
        1, user_id=1, user_active=True, termination_date=dt.date(2026, 11, 30), remote_was_deleted=True
    )
    new = plan_provisioning([deleted], today=today, policy=Policy(), active_admins=1, rejected=rejected)
    assert (new.deactivate, new.reconsidered) == ([deleted], {1: 7})


def test_item_6_a_pre_hire_is_created_from_the_policy_s_window_on() -> None:
    """Issue item 6: starting in 8 days is too early with a 7-day window; in 7 days is due."""
    early = candidate(1, start_date=TODAY + dt.timedelta(days=8))
    due = candidate(2, start_date=TODAY + dt.timedelta(days=7))
    unknown = candidate(3, employment_status="SUSPENDED")
    assert [c.person_id for c in plan([early, due, unknown]).create] == [2]


def test_item_3_each_kind_of_new_evidence_asks_again() -> None:
    """Issue item 3: a later termination date, a status change and a deletion each make new evidence."""
    ended = dt.date(2026, 11, 1)
    before = candidate(1, user_id=1, user_active=True, termination_date=ended)
    rejected = {1: (7, before.evidence_key())}
    for changed in (
        {"termination_date": dt.date(2026, 11, 20)},
        {"employment_status": "INACTIVE"},
        {"remote_was_deleted": True},
    ):
        now = candidate(1, **({"user_id": 1, "user_active": True, "termination_date": ended} | changed))
        result = plan_provisioning([now], today=TODAY, policy=Policy(), active_admins=1, rejected=rejected)
        assert (result.deactivate, result.reconsidered) == ([now], {1: 7}), changed

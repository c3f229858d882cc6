import datetime as dt

from skillibrium.provisioning.plan import Candidate, plan_provisioning

TODAY = dt.date(2026, 11, 25)


def candidate(n: int, **fields: object) -> Candidate:
    defaults: dict[str, object] = {
        "person_id": n,
        "email": f"p{n}@example.com",
        "employment_status": "ACTIVE",
        "termination_date": None,
        "remote_was_deleted": False,
    }
    return Candidate(**(defaults | fields))  # type: ignore[arg-type]


def test_active_people_with_email_are_created() -> None:
    plan = plan_provisioning([candidate(1), candidate(2, email="")], today=TODAY, active_admins=1)
    assert [c.person_id for c in plan.create] == [1]


def test_deactivation_needs_positive_evidence() -> None:
    people = [
        candidate(1, user_id=1, user_active=True, employment_status="INACTIVE"),
        candidate(2, user_id=2, user_active=True, termination_date=TODAY),
        candidate(3, user_id=3, user_active=True, remote_was_deleted=True),
        candidate(4, user_id=4, user_active=True, termination_date=TODAY + dt.timedelta(days=1)),
        candidate(5, user_id=5, user_active=True),
    ]
    plan = plan_provisioning(people, today=TODAY, active_admins=1)
    assert [c.person_id for c in plan.deactivate] == [1, 2, 3]
    assert plan.create == plan.reactivate == []


def test_rehire_reactivates() -> None:
    plan = plan_provisioning([candidate(1, user_id=1, user_active=False)], today=TODAY, active_admins=1)
    assert [c.person_id for c in plan.reactivate] == [1]


def test_last_admin_is_never_deactivated() -> None:
    admin = candidate(1, user_id=1, user_active=True, user_is_admin=True, employment_status="INACTIVE")
    plan = plan_provisioning([admin], today=TODAY, active_admins=1)
    assert plan.deactivate == []
    assert plan.kept_last_admin == [admin]


def test_one_of_two_admins_may_leave_but_not_both() -> None:
    admins = [
        candidate(n, user_id=n, user_active=True, user_is_admin=True, employment_status="INACTIVE")
        for n in (1, 2)
    ]
    plan = plan_provisioning(admins, today=TODAY, active_admins=2)
    assert [c.person_id for c in plan.deactivate] == [1]
    assert [c.person_id for c in plan.kept_last_admin] == [2]

"""An organization with an HRIS and a CRM whose users are some of the HRIS's people, against a real sandbox:
each human is one person with a record from each source, reads as the HRIS has them, and has access as the
HRIS says, whichever source syncs first."""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Invitation, Organization, User
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.notifications.tasks import send_invitations
from skillibrium.provisioning.models import HeldChange, HoldReason, HoldStatus
from skillibrium.sync.models import SyncRun

from .factories import make_org
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db

type Capture = Callable[..., AbstractContextManager[Any]]


@dataclass
class Company:
    hris_tenant: dict[str, Any]
    crm_tenant: dict[str, Any]
    hris: Integration
    crm: Integration
    # The same HRIS tenant linked by an organization with no CRM: how its people read from the HRIS alone
    # (users are one per email across organizations, so it provisions nobody).
    hris_alone: Integration

    @property
    def organization(self) -> Organization:
        return self.hris.organization

    def in_order(self, crm_first: bool) -> list[Integration]:
        return [self.crm, self.hris] if crm_first else [self.hris, self.crm]


def _people(sandbox: Sandbox, tenant: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The tenant's people (employees or users) at the provider, by remote id."""
    page = sandbox.control("GET", f"tenants/{tenant['id']}/people?limit=1000")
    assert page["next_after"] is None
    return {p["remote_id"]: p for p in page["results"]}


def _employees_by_email(sandbox: Sandbox, company: Company) -> dict[str, dict[str, Any]]:
    return {e["work_email"]: e for e in _people(sandbox, company.hris_tenant).values()}


@pytest.fixture
def company(sandbox: Sandbox) -> Company:
    hris_tenant = sandbox.tenant(provider="workday", size=30, seed=5)
    crm_tenant = sandbox.tenant(provider="salesforce", size=12, seed=2, people_from=hris_tenant["id"])
    organization = make_org()
    hris, _ = link(sandbox, organization, hris_tenant)
    crm, _ = link(sandbox, organization, crm_tenant, Category.CRM)
    alone, _ = link(sandbox, make_org(), hris_tenant)
    return Company(hris_tenant, crm_tenant, hris, crm, alone)


type SyncAndInvite = Callable[[list[Integration]], dict[Integration, SyncRun]]


@pytest.fixture
def sync_and_invite(django_capture_on_commit_callbacks: Capture) -> SyncAndInvite:
    """Sync the integrations one after the other, each followed by the invitations it queued, as the worker
    sends them; returns each one's run."""

    def run(integrations: list[Integration]) -> dict[Integration, SyncRun]:
        runs = {}
        for integration in integrations:
            first = integration.last_successful_sync_at is None
            with django_capture_on_commit_callbacks(execute=True):
                runs[integration] = sync(integration, Trigger.SETUP if first else Trigger.SCHEDULE)
            for task in DBTaskResult.objects.ready().filter(task_path__endswith=".send_invitations"):
                send_invitations.call(*task.args_kwargs["args"])
                task.delete()
        return runs

    return run


def _reads(organization: Organization) -> dict[str, tuple[Any, ...]]:
    """What the directory says of each person, by work email."""
    people = Person.objects.for_org(organization).select_related("manager")
    return {
        p.work_email: (
            p.first_name,
            p.last_name,
            p.display_name,
            p.title,
            p.team,
            p.department,
            p.location,
            p.manager.work_email if p.manager else "",
            p.employment_type,
            p.employment_status,
            p.hire_date,
            p.start_date,
            p.termination_date,
            p.source_category,
        )
        for p in people
    }


def _with_access(organization: Organization) -> set[str]:
    users = User.objects.filter(membership__organization=organization, is_active=True, person__isnull=False)
    return set(users.values_list("email", flat=True))


def _assert_one_person_per_human(sandbox: Sandbox, company: Company) -> None:
    """Every human is one person: the HRIS's employees, the CRM's users among them by work email whatever its
    case, with the record of each source; they read as the HRIS alone has them, and the HRIS's active people
    are those with access, each with a user of their own invited once."""
    employees = _employees_by_email(sandbox, company)
    people = Person.objects.for_org(company.organization)
    assert people.count() == len(employees)
    for user in _people(sandbox, company.crm_tenant).values():
        person = people.get(work_email=user["email"].lower())
        identities = set(SourceIdentity.objects.filter(person=person).values_list("integration", "remote_id"))
        employee = employees[user["email"].lower()]
        assert identities == {(company.hris.pk, employee["remote_id"]), (company.crm.pk, user["remote_id"])}
    assert not people.filter(identities__isnull=True).exists()

    assert _reads(company.organization) == _reads(company.hris_alone.organization)
    active = {email for email, e in employees.items() if e["status"] == "ACTIVE"}
    assert _with_access(company.organization) == active

    users = list(people.exclude(user=None).values_list("user", flat=True))
    invited = Counter(
        Invitation.objects.filter(organization=company.organization).values_list("user", flat=True)
    )
    assert set(invited) == set(users) and set(invited.values()) == {1}
    assert (
        User.objects.filter(membership__organization=company.organization, person=None).count() == 2
    )  # admins


def _both_active(
    sandbox: Sandbox, company: Company, count: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(CRM user, HRIS employee) of `count` humans active in both."""
    employees = _employees_by_email(sandbox, company)
    pairs = [(u, employees[u["email"].lower()]) for u in _people(sandbox, company.crm_tenant).values()]
    active = [(u, e) for u, e in pairs if u["active"] and e["status"] == "ACTIVE"]
    assert len(active) >= count
    return active[:count]


def _act(
    sandbox: Sandbox, tenant: dict[str, Any], remote_id: str, action: str = "", **fields: Any
) -> dict[str, Any]:
    """Terminate or rehire someone at the provider, or change their record; returns it."""
    path = f"tenants/{tenant['id']}/people/{remote_id}"
    record = (
        sandbox.control("POST", f"{path}/{action}") if action else sandbox.control("PATCH", path, **fields)
    )
    return dict(record)


def _access_of(email: str) -> bool:
    return User.objects.get(email=email).is_active


@pytest.mark.parametrize("crm_first", [True, False], ids=["crm first", "hris first"])
def test_each_human_is_one_person_the_hris_decides(
    sandbox: Sandbox, company: Company, sync_and_invite: SyncAndInvite, crm_first: bool
) -> None:
    """Before the first syncs: a CRM user deactivated whom the HRIS says works here, an HRIS leaver still
    active in the CRM, and a CRM user whose email is written with capitals. Once everyone has synced, the
    same again for people who have access by then."""
    crm_leaver, hris_leaver, capitals, crm_leaver_later, hris_leaver_later = _both_active(sandbox, company, 5)
    _act(sandbox, company.crm_tenant, crm_leaver[0]["remote_id"], "terminate")
    _act(sandbox, company.hris_tenant, hris_leaver[1]["remote_id"], "terminate")
    shouted = _act(sandbox, company.crm_tenant, capitals[0]["remote_id"], email=capitals[0]["email"].title())
    assert shouted["email"] != capitals[1]["work_email"] == shouted["email"].lower()
    sandbox.merge_sync()

    runs = sync_and_invite([*company.in_order(crm_first), company.hris_alone])

    _assert_one_person_per_human(sandbox, company)
    # Synced first, the CRM gave its active users access; the HRIS then takes it from its leaver.
    assert runs[company.hris].deactivated == (1 if crm_first else 0)
    assert _access_of(crm_leaver[1]["work_email"])
    assert not User.objects.filter(email=hris_leaver[1]["work_email"], is_active=True).exists()

    _act(sandbox, company.crm_tenant, crm_leaver_later[0]["remote_id"], "terminate")
    _act(sandbox, company.hris_tenant, hris_leaver_later[1]["remote_id"], "terminate")
    # The HRIS leaver's CRM record changes, and the CRM leaver's comes back: neither changes the person or
    # anyone's access.
    _act(sandbox, company.crm_tenant, hris_leaver[0]["remote_id"], last_name="Renamed-In-Crm")
    _act(sandbox, company.crm_tenant, crm_leaver[0]["remote_id"], "rehire")
    sandbox.merge_sync()

    runs = sync_and_invite([*company.in_order(crm_first), company.hris_alone])

    _assert_one_person_per_human(sandbox, company)
    crm_run, hris_run = runs[company.crm], runs[company.hris]
    assert (crm_run.updated, crm_run.provisioned, crm_run.deactivated) == (3, 0, 0)
    assert (hris_run.updated, hris_run.provisioned, hris_run.deactivated) == (1, 0, 1)
    assert _access_of(crm_leaver_later[1]["work_email"])
    assert not _access_of(hris_leaver_later[1]["work_email"])


def _detects_deletions(sandbox: Sandbox, integration: Integration, enabled: bool) -> None:
    path = f"linked-accounts/{integration.merge_account_id}/deletion-detection"
    sandbox.control("PUT", path, enabled=enabled)


def _full_read_due(integration: Integration) -> None:
    """A week passes (the clock is moved, not waited for)."""
    assert integration.last_full_read_at is not None
    integration.last_full_read_at -= dt.timedelta(days=integration.full_read_every_days, seconds=1)
    integration.save(update_fields=["last_full_read_at"])


def _not_seen(organization: Organization) -> dict[str, bool]:
    """Who is marked not seen at their source, and whether a review of it waits (by work email)."""
    people = Person.objects.for_org(organization).exclude(not_seen_since=None)
    pending = HeldChange.objects.filter(reason=HoldReason.NOT_SEEN, status=HoldStatus.PENDING)
    return {p.work_email: pending.filter(person=p).exists() for p in people}


def test_a_user_gone_from_the_crm_raises_no_question_about_an_employee_the_hris_lists(
    sandbox: Sandbox, company: Company, sync_and_invite: SyncAndInvite
) -> None:
    """Merge's deletion detection off: a CRM user who leaves the CRM's lists is not seen there, but the HRIS
    still lists them as working here, and it is the HRIS that speaks for them. A user only the CRM has, left
    out the same way, waits for review as ever."""
    [(drawn, employee)] = _both_active(sandbox, company, 1)
    crm_only = sandbox.control(
        "POST", f"tenants/{company.crm_tenant['id']}/people", first_name="Crm", last_name="Only"
    )
    sandbox.merge_sync()
    sync_and_invite([company.hris, company.crm])
    assert _access_of(employee["work_email"]) and _access_of(crm_only["email"])
    _detects_deletions(sandbox, company.crm, enabled=False)
    for user in (drawn, crm_only):
        sandbox.control("DELETE", f"tenants/{company.crm_tenant['id']}/people/{user['remote_id']}")
    sandbox.merge_sync()
    _full_read_due(company.crm)

    swept = sync_and_invite([company.crm])[company.crm]

    assert swept.modified_after is None and swept.deactivated == 0
    assert "1 people were not seen at the source; 1 with access wait for review" in swept.warnings[0]
    assert _not_seen(company.organization) == {crm_only["email"]: True}
    assert _access_of(employee["work_email"])


def test_a_crm_read_does_not_answer_for_an_employee_the_hris_no_longer_lists(
    sandbox: Sandbox, company: Company, sync_and_invite: SyncAndInvite
) -> None:
    """Merge's deletion detection off: an employee left out of the HRIS's full read waits for review; a full
    read of the CRM that still has their user does not withdraw the question, which is about the HRIS."""
    [(_, employee)] = _both_active(sandbox, company, 1)
    sync_and_invite([company.hris, company.crm])
    _detects_deletions(sandbox, company.hris, enabled=False)
    sandbox.control("DELETE", f"tenants/{company.hris_tenant['id']}/people/{employee['remote_id']}")
    sandbox.merge_sync()
    _full_read_due(company.hris)
    assert sync_and_invite([company.hris])[company.hris].deactivated == 0
    assert _not_seen(company.organization) == {employee["work_email"]: True}
    _full_read_due(company.crm)

    crm_run = sync_and_invite([company.crm])[company.crm]

    assert crm_run.modified_after is None and crm_run.warnings == []
    assert _not_seen(company.organization) == {employee["work_email"]: True}
    assert _access_of(employee["work_email"])

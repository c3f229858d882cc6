"""Properties over generated directories and change sequences, against a real Merge sandbox."""

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration
from skillibrium.provisioning.models import ProvisioningPolicy
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_org
from .sandboxed import Sandbox, link

pytestmark = pytest.mark.django_db

names = st.sampled_from(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia", "Linus"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("hire"), names, names),
        st.tuples(st.just("title"), st.integers(0, 50), st.sampled_from(["Engineer", "Manager", "Analyst"])),
        st.tuples(st.just("terminate"), st.integers(0, 50), st.sampled_from([0, 0, 9])),
        st.tuples(st.just("rehire"), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("sync")),
    ),
    max_size=12,
)


def truth(sandbox: Sandbox, tenant_id: str) -> dict[str, dict[str, Any]]:
    return {
        p["remote_id"]: p for p in sandbox.control("GET", f"tenants/{tenant_id}/people?limit=1000")["results"]
    }


def wants_access(person: dict[str, Any], today: dt.date) -> bool:
    ended = person["termination_date"] and dt.date.fromisoformat(person["termination_date"]) <= today
    return not person["deleted"] and person["status"] == "ACTIVE" and bool(person["work_email"]) and not ended


def has_evidence(person: dict[str, Any], today: dt.date) -> bool:
    ended = person["termination_date"] and dt.date.fromisoformat(person["termination_date"]) <= today
    return person["deleted"] or person["status"] == "INACTIVE" or bool(ended)


def apply(sandbox: Sandbox, tenant_id: str, op: tuple[Any, ...]) -> None:
    remote_ids = sorted(truth(sandbox, tenant_id))
    base = f"{sandbox.url}/_sandbox/tenants/{tenant_id}/people"
    kind, *args = op
    if kind == "hire":
        httpx.post(base, json={"first_name": args[0], "last_name": args[1]}, timeout=30)
        return
    target = f"{base}/{remote_ids[args[0] % len(remote_ids)]}"
    if kind == "title":
        httpx.patch(target, json={"title": args[1]}, timeout=30)
    elif kind == "terminate":
        date = (dt.date.today() + dt.timedelta(days=args[1])).isoformat()
        httpx.post(f"{target}/terminate", json={"date": date}, timeout=30)
    elif kind == "rehire":
        httpx.post(f"{target}/rehire", json={}, timeout=30)
    elif kind == "delete":
        httpx.delete(target, timeout=30)  # a 4xx (already deleted, say) just means the step did not apply


def our_sync(integration: Integration) -> SyncRun:
    run = sync_integration(integration_id=integration.pk, trigger=Trigger.SCHEDULE)
    assert run is not None and run.status == RunStatus.SUCCEEDED, run and run.error
    return run


def assert_no_deactivation_without_evidence(
    integration: Integration, people: dict[str, dict[str, Any]]
) -> None:
    today = dt.date.today()
    for person in Person.objects.for_org(integration.organization).filter(user__is_active=False):
        source = people[person.identities.get().remote_id]
        assert has_evidence(source, today), f"{person.work_email} was deactivated without evidence"


# The same ten examples on every run, so that a red build always means a change broke something.
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=st.integers(2, 12), ops=operations)
def test_sync_converges_to_the_source_and_never_deactivates_without_evidence(
    merge: str, size: int, ops: list[tuple[Any, ...]]
) -> None:
    sandbox = Sandbox(merge)
    tenant = sandbox.tenant(size=size, seed=size)
    integration, admin = link(sandbox, make_org(), tenant)
    ProvisioningPolicy.objects.create(
        organization=integration.organization, send_invitations=False, mass_deactivation_percent=100
    )
    our_sync(integration)
    for op in ops:
        if op[0] == "sync":
            sandbox.merge_sync()
            our_sync(integration)
            assert_no_deactivation_without_evidence(integration, truth(sandbox, tenant["id"]))
        else:
            apply(sandbox, tenant["id"], op)
    sandbox.merge_sync()
    our_sync(integration)
    people = truth(sandbox, tenant["id"])
    assert_no_deactivation_without_evidence(integration, people)

    again = our_sync(integration)
    assert (again.created, again.updated, again.provisioned, again.deactivated) == (0, 0, 0, 0)

    today = dt.date.today()
    identities = SourceIdentity.objects.filter(integration=integration).select_related("person__user")
    ours = {i.remote_id: i.person for i in identities}
    # A record created and deleted between two of Merge's syncs never reaches Merge, so it may be absent.
    assert {r for r, p in people.items() if not p["deleted"]} <= set(ours) <= set(people)
    records_of: dict[int, list[str]] = defaultdict(list)
    for remote_id, person in ours.items():
        records_of[person.pk].append(remote_id)
    for remote_id, person in ours.items():
        source = people[remote_id]
        shared = records_of[person.pk]
        if len(shared) > 1:
            # One human under two records (rehired under a new id): the current record speaks for them.
            current = [r for r in shared if wants_access(people[r], today)]
            assert len(current) <= 1 and (not current or person.title == people[current[0]]["title"])
            continue
        assert person.last_name == source["last_name"]
        assert person.first_name == (source["preferred_name"] or source["first_name"])
        assert person.title == source["title"]
        assert person.remote_was_deleted == source["deleted"]
        if not source["deleted"]:
            assert person.employment_status == source["status"]
    emails = Counter(p["work_email"].lower() for p in people.values() if wants_access(p, today))
    for email, wanting in emails.items():
        # Users are one per email: two current records sharing one (a data error at the source) share it.
        active = User.objects.filter(email__iexact=email, is_active=True).count()
        assert active == 1, (email, wanting)
    for person in set(ours.values()):
        if person.user and person.user.is_active:
            assert any(wants_access(people[r], today) for r in records_of[person.pk]), person.work_email
    assert User.objects.get(pk=admin.pk).is_active


def test_a_deleted_record_edited_at_the_source(merge: str) -> None:
    """Found by the property test above: the sandbox let a deleted record's title change, which Merge never
    sees, so the source's truth and Merge's disagreed. Deleted records now refuse edits (409)."""
    ops = [
        ("rehire", 25),
        *[("hire", "Ada", "Ada")] * 3,
        ("hire", "Radia", "Ada"),
        ("delete", 25),
        ("sync",),
        ("hire", "Edsger", "Alan"),
        ("sync",),
        ("hire", "Radia", "Ada"),
        ("title", 44, "Engineer"),
    ]
    inner = test_sync_converges_to_the_source_and_never_deactivates_without_evidence.hypothesis.inner_test  # type: ignore[attr-defined]
    inner(merge=merge, size=11, ops=ops)

"""Properties over generated directories and change sequences, against a real Merge sandbox."""

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import User
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration
from skillibrium.provisioning.models import HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_org
from .sandboxed import Sandbox, link

pytestmark = pytest.mark.django_db

names = st.sampled_from(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia", "Linus"])
changes = st.one_of(
    st.tuples(st.just("hire"), names, names),
    st.tuples(st.just("title"), st.integers(0, 50), st.sampled_from(["Engineer", "Manager", "Analyst"])),
    st.tuples(st.just("terminate"), st.integers(0, 50), st.sampled_from([0, 0, 9])),
    st.tuples(st.just("rehire"), st.integers(0, 50)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
)
operation = st.one_of(changes, st.tuples(st.just("sync")))
operations = st.lists(operation, max_size=12)


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


faulty_read = st.tuples(
    st.sampled_from(["sync", "sync", "full"]),  # an incremental read, or a full read that is faulty itself
    st.sampled_from(["omit", "end_early", "repeat", "reorder", None]),
    st.sampled_from([0, 0, 1]),  # good pages (of three) before the faulty one
)
# Rounds of a few changes at the source, each followed by one of our reads through a faulty list.
rounds = st.lists(st.tuples(st.lists(changes, min_size=1, max_size=4), faulty_read), min_size=1, max_size=4)
Round = tuple[list[tuple[Any, ...]], tuple[str, str | None, int]]


def faulty_sync(sandbox: Sandbox, integration: Integration, op: tuple[str, str | None, int]) -> None:
    """One of our syncs through one faulty page of employees (if the list is long enough to reach it)."""
    kind, fault, after = op
    sandbox.merge_sync()
    if fault:
        sandbox.control("PUT", "faults", list_fault=fault, list_fault_remaining=1, list_fault_after=after)
    if kind == "full":
        Integration.objects.filter(pk=integration.pk).update(last_full_read_at=None)
    our_sync(integration)
    sandbox.control("PUT", "faults", list_fault=None, list_fault_remaining=0, list_fault_after=0)


def assert_deactivated_only_on_evidence(integration: Integration, people: dict[str, dict[str, Any]]) -> None:
    """Positive evidence, both in the directory and at the source: a deletion counts only where Merge can
    report one; absence (not seen, left out of a page, a list cut short) never counts."""
    today = dt.date.today()
    for person in Person.objects.for_org(integration.organization).filter(user__is_active=False):
        ended = person.termination_date is not None and person.termination_date <= today
        assert person.remote_was_deleted or person.employment_status == "INACTIVE" or ended, person.work_email
        sources = [people[i.remote_id] for i in person.identities.all()]
        assert any(has_evidence(source, today) for source in sources), person.work_email


# Bounded and derandomized: the same examples on every run, well under a minute. The explicit ones are
# sure to bite: a leaver left out while the watermark passes them; deletions Merge cannot report; a full
# read cut short (its not-seen people are released by the clean one).
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(size=st.integers(2, 10), rounds=rounds, detects_deletions=st.booleans())
@example(
    size=6,
    rounds=[([("terminate", 1, 0), ("terminate", 2, 0), ("title", 3, "Analyst")], ("sync", "omit", 0))],
    detects_deletions=True,
)
@example(
    size=7,
    rounds=[
        ([("delete", 1), ("delete", 4), ("terminate", 2, 0)], ("sync", "reorder", 0)),
        ([("hire", "Ada", "Ken")], ("full", "end_early", 1)),
    ],
    detects_deletions=False,
)
@example(
    size=9,
    rounds=[
        (
            [("title", 0, "Manager"), ("title", 4, "Manager"), ("title", 8, "Manager")],
            ("sync", "end_early", 0),
        ),
        ([("terminate", 5, 0), ("title", 1, "Engineer"), ("rehire", 5)], ("sync", "repeat", 0)),
    ],
    detects_deletions=True,
)
def test_item_7_reconciliation_repairs_faulty_reads_and_never_deactivates_on_absence(
    merge: str, settings: Settings, size: int, rounds: list[Round], detects_deletions: bool
) -> None:
    """Issue item 7: omitted records, lists that end early, repeated and reordered pages, with deletion
    detection on or off (item 18). After a clean full read the directory equals the source, and nobody was
    ever deactivated without positive evidence; people Merge no longer lists wait for review."""
    settings.MERGE_RATE_LIMIT_PER_MINUTE = 0  # pages of three: many requests, paced by nothing but Merge
    sandbox = Sandbox(merge)
    tenant = sandbox.tenant(size=size, seed=size)
    integration, admin = link(sandbox, make_org(), tenant)
    sandbox.control(
        "PUT", f"linked-accounts/{integration.merge_account_id}/deletion-detection", enabled=detects_deletions
    )
    sandbox.control("PUT", "faults", page_size_cap=3)
    ProvisioningPolicy.objects.create(
        organization=integration.organization, send_invitations=False, mass_deactivation_percent=100
    )
    try:
        our_sync(integration)
        for source_changes, read in rounds:
            for change in source_changes:
                apply(sandbox, tenant["id"], change)
            faulty_sync(sandbox, integration, read)
            assert_deactivated_only_on_evidence(integration, truth(sandbox, tenant["id"]))
        faulty_sync(sandbox, integration, ("full", None, 0))  # the reconciliation, clean
    finally:
        sandbox.control("DELETE", "faults")
    people = truth(sandbox, tenant["id"])
    assert_deactivated_only_on_evidence(integration, people)
    again = our_sync(integration)
    assert (again.created, again.updated, again.provisioned, again.deactivated) == (0, 0, 0, 0)

    today = dt.date.today()
    listed = {r for r, p in people.items() if detects_deletions or not p["deleted"]}  # what Merge lists
    identities = SourceIdentity.objects.filter(integration=integration).select_related("person__user")
    ours = {i.remote_id: i.person for i in identities}
    assert {r for r, p in people.items() if not p["deleted"]} <= set(ours) <= set(people)
    pending = set(
        HeldChange.objects.filter(
            organization=integration.organization, status=HoldStatus.PENDING, reason=HoldReason.NOT_SEEN
        ).values_list("person_id", flat=True)
    )
    for remote_id, person in ours.items():
        source = people[remote_id]
        shared = [r for r, p in ours.items() if p.pk == person.pk]
        seen = any(r in listed for r in shared)
        assert (person.not_seen_since is None) == seen, remote_id
        if not seen and person.user and person.user.is_active and not has_evidence_here(person, today):
            assert person.pk in pending  # waits for an admin, with when it was last seen
        if len(shared) > 1 or remote_id not in listed:
            continue  # one human under two records, or a record Merge no longer lists: nothing to compare
        assert (person.first_name, person.last_name, person.title) == (
            source["preferred_name"] or source["first_name"],
            source["last_name"],
            source["title"],
        )
        assert person.remote_was_deleted == source["deleted"]
        if not source["deleted"]:
            assert person.employment_status == source["status"]
    for email in {p["work_email"].lower() for p in people.values() if wants_access(p, today)}:
        assert User.objects.filter(email__iexact=email, is_active=True).count() == 1, email
    for person in set(ours.values()):
        if person.user and person.user.is_active:
            shared = [r for r, p in ours.items() if p.pk == person.pk]
            assert any(wants_access(people[r], today) for r in shared) or person.pk in pending, (
                person.work_email
            )
    assert not pending - {p.pk for p in ours.values() if p.not_seen_since is not None}
    assert User.objects.get(pk=admin.pk).is_active


def has_evidence_here(person: Person, today: dt.date) -> bool:
    ended = person.termination_date is not None and person.termination_date <= today
    return person.remote_was_deleted or person.employment_status == "INACTIVE" or ended

"""A sync run's page: its per-person log with each reason (created, updated fields, deactivated evidence, held
reason, skipped error), who started it, its time per phase, searched, filtered and paged by id, and scoped to
the organization's admins; the audit log links to it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from skillibrium.accounts.models import User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations.choices import Trigger
from skillibrium.sync import log
from skillibrium.sync.models import RunAction, RunEntry, SyncRun
from skillibrium.sync.tasks import sync_linked_account

from .factories import make_integration, make_org, make_user, queued_syncs, signed_in
from .sandboxed import Sandbox, people_path, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def entries(run: SyncRun, action: RunAction) -> dict[str, dict[str, object]]:
    """The run's entries of one kind, by email."""
    return {e.email: e.details for e in RunEntry.objects.filter(run=run, action=action)}


def page_of(run: SyncRun, user: User, **params: str) -> str:
    url = reverse("integrations:run_detail", args=[run.integration_id, run.pk])
    response = signed_in(user).get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_first_run_logs_each_person_it_added_and_the_user_it_created(sandbox: Sandbox) -> None:
    integration, admin, _, _ = setup(sandbox, size=12)
    run = SyncRun.objects.get(integration=integration)

    created = RunEntry.objects.filter(run=run, action=RunAction.CREATED)
    people = Person.objects.for_org(integration.organization)
    assert sorted(created.values_list("person_id", flat=True)) == sorted(people.values_list("pk", flat=True))
    with_user = {e.person_id for e in created if e.details == {"user": "created"}}
    assert with_user == {p.pk for p in provisioned(integration)}
    assert set(run.phases) >= {"fetch", "map", "upsert", "record", "deactivate"}
    page = page_of(run, admin)
    assert "New at the source; a user was created with the record." in page
    assert "Write the directory" in page


def test_an_update_names_each_changed_field_from_old_to_new(sandbox: Sandbox) -> None:
    integration, admin, tenant, _ = setup(sandbox, size=12)
    person = provisioned(integration)[3]
    sandbox.control("PATCH", people_path(tenant, person), last_name="Renamed")
    sandbox.merge_sync()

    run = sync(integration)

    changed = entries(run, RunAction.UPDATED)[person.work_email]["fields"]
    assert isinstance(changed, dict)
    assert changed["last_name"] == [person.last_name, "Renamed"]
    assert set(changed) <= {"last_name", "display_name"}  # nothing else changed, nothing else is named
    renamed = entries(run, RunAction.USER_UPDATED)[person.work_email]
    assert renamed == {"fields": {"name": [person.name, f"{person.first_name} Renamed"]}}
    assert f"Last name: {person.last_name} → Renamed" in page_of(run, admin)


def test_a_deactivation_names_its_evidence(sandbox: Sandbox) -> None:
    integration, admin, tenant, _ = setup(sandbox, size=12)
    leaver = provisioned(integration)[2]
    sandbox.control("POST", f"{people_path(tenant, leaver)}/terminate")
    sandbox.merge_sync()

    run = sync(integration)

    assert run.deactivated == 1
    evidence = entries(run, RunAction.DEACTIVATED)[leaver.work_email]["evidence"]
    leaver.refresh_from_db()
    assert evidence in {"employment status is inactive", f"terminated on {leaver.termination_date}"}
    assert f"Evidence: {evidence}." in page_of(run, admin, action="deactivated")


def test_a_held_deactivation_names_its_reason(sandbox: Sandbox) -> None:
    integration, admin, tenant, _ = setup(sandbox)
    leavers = provisioned(integration)[:10]
    for person in leavers:
        sandbox.control("POST", f"{people_path(tenant, person)}/terminate")
    sandbox.merge_sync()

    run = sync(integration)

    held = entries(run, RunAction.HELD)
    assert set(held) == {p.work_email for p in leavers}
    assert {(d["kind"], d["reason"]) for d in held.values()} == {
        ("Deactivate user", "Mass-deactivation safeguard")
    }
    assert "Deactivate user · Mass-deactivation safeguard" in page_of(run, admin, action="held")


def test_a_skipped_change_names_its_error(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the login-email tests: a check blind to a concurrent writer meets the unique constraint."""
    integration, admin, tenant, _ = setup(sandbox, size=12)
    mover = provisioned(integration)[5]
    sandbox.control("PATCH", people_path(tenant, mover), work_email=admin.email)
    sandbox.merge_sync()
    monkeypatch.setattr("skillibrium.provisioning.logins.holders", lambda emails: {})

    run = sync(integration)

    assert run.skipped == 1
    error = str(entries(run, RunAction.SKIPPED)[admin.email]["error"])
    assert "duplicate key" in error or "unique" in error.lower()
    assert "Error: " in page_of(run, admin, action="skipped")


def test_sync_now_names_who_started_it(sandbox: Sandbox) -> None:
    integration, admin, _, client = setup(sandbox, size=5)
    assert SyncRun.objects.get(integration=integration).started_by is None  # linked in code, not by a person

    client.post(reverse("integrations:sync_now", args=[integration.pk]))
    (task,) = queued_syncs(integration)
    run = SyncRun.objects.get(pk=sync_linked_account.call(*task.args_kwargs["args"]))

    assert (run.trigger, run.started_by) == (Trigger.ADMIN, admin)
    integration.refresh_from_db()
    assert integration.sync_requested_by is None  # taken by this run, not carried to the next
    assert admin.email in page_of(run, admin)
    assert sync(integration).started_by is None


def _logged_run(size: int) -> tuple[SyncRun, User]:
    organization = make_org()
    admin = make_user(organization, role="admin")
    integration = make_integration(organization)
    run = SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE)
    managers = [Person.objects.create(organization=organization, first_name=f"Boss{i}") for i in range(3)]
    rows: list[log.Entry] = [
        (
            None,
            f"m-{i}",
            f"Person {i:03}",
            f"p{i}@log.example",
            {"fields": {"manager": [None, managers[i % 3].pk]}},
        )
        for i in range(size)
    ]
    log.write(RunAction.UPDATED, rows, run_id=run.pk)
    log.write(RunAction.SKIPPED, [(None, "bad", "", "bad@log.example", {"error": "no id"})], run_id=run.pk)
    return run, admin


def test_the_log_is_searched_filtered_and_paged_by_id() -> None:
    run, admin = _logged_run(120)

    first = page_of(run, admin)
    assert "Person 000" in first and "Person 049" in first and "Person 050" not in first
    assert "Manager: nobody → Boss0" in first
    last_shown = RunEntry.objects.get(run=run, name="Person 049").pk
    assert f"after={last_shown}" in first
    second = page_of(run, admin, after=str(last_shown))
    assert "Person 050" in second and "Person 049" not in second and 'rel="prev"' in second
    assert "bad@log.example" not in page_of(run, admin, action="updated", after=str(last_shown + 50))
    skipped = page_of(run, admin, action="skipped")
    assert "bad@log.example" in skipped and "Person 0" not in skipped
    found = page_of(run, admin, q="p7@log")
    assert "Person 007" in found and "Person 008" not in found


def test_the_page_costs_the_same_queries_whatever_the_run_holds() -> None:
    def queries(size: int) -> int:
        run, admin = _logged_run(size)
        client = signed_in(admin)
        url = reverse("integrations:run_detail", args=[run.integration_id, run.pk])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(3) == queries(200)


def test_another_organizations_run_is_not_found_and_a_member_is_refused() -> None:
    run, admin = _logged_run(2)
    url = reverse("integrations:run_detail", args=[run.integration_id, run.pk])
    other = make_org()
    outsider = make_user(other, role="admin")
    other_integration = make_integration(other)

    assert signed_in(outsider).get(url).status_code == 404
    elsewhere = reverse("integrations:run_detail", args=[other_integration.pk, run.pk])
    assert signed_in(outsider).get(elsewhere).status_code == 404
    assert signed_in(make_user(run.integration.organization)).get(url).status_code == 403
    assert signed_in(admin).get(url).status_code == 200


def test_recent_syncs_and_the_audit_log_link_to_the_run(sandbox: Sandbox) -> None:
    integration, _, _, client = setup(sandbox, size=5)
    run = SyncRun.objects.get(integration=integration)
    url = reverse("integrations:run_detail", args=[integration.pk, run.pk])
    assert AuditEntry.objects.filter(run_id=run.pk).exists()

    assert f'href="{url}"' in client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert f'href="{url}"' in client.get(reverse("audit_log")).content.decode()

"""A running sync's counters, saved as its batches commit, and the fragments that poll them while it runs."""

import datetime as dt
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Role
from skillibrium.integrations.choices import Category, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync import read
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.management.commands.sync_account import progress_line
from skillibrium.sync.models import PROGRESS_FIELDS, RunStatus, SyncRun

from .factories import make_integration, make_org, make_user, signed_in
from .sandboxed import Sandbox, link

pytestmark = pytest.mark.django_db


def saved_elsewhere(run_id: int) -> dict[str, Any]:
    """The run's row as another connection (a page's request) reads it: only what is committed."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT status, {', '.join(PROGRESS_FIELDS)} FROM sync_syncrun WHERE id = %s", [run_id]
            )
            row = cursor.fetchone()
            names = [column.name for column in cursor.description]
    finally:
        other.close()
    return dict(zip(names, row, strict=True))


@pytest.mark.django_db(transaction=True)
def test_counters_are_saved_as_each_batch_commits(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "WRITE_BATCH", 100)  # a page per batch: 250 people are three batches
    integration, _ = link(sandbox, make_org(), sandbox.tenant(size=250))
    seen: list[dict[str, Any]] = []

    def after_batch(run: SyncRun) -> None:
        seen.append(saved_elsewhere(run.pk) | {"in_memory": (run.pages, run.created, run.provisioned)})

    run = sync_integration(integration_id=integration.pk, trigger=Trigger.SETUP, progress=after_batch)

    assert run is not None and run.status == RunStatus.SUCCEEDED, run and run.error
    assert [s["status"] for s in seen] == ["running"] * 3
    assert [s["created"] for s in seen] == [100, 200, 250]
    assert [s["pages"] for s in seen] == [1, 2, 3]
    assert all((s["pages"], s["created"], s["provisioned"]) == s["in_memory"] for s in seen)
    assert 0 < seen[0]["provisioned"] < seen[-1]["provisioned"] == run.provisioned
    assert seen[0]["requests"] > 0  # the pages were fetched ahead of the writes


def test_the_command_line_says_what_the_pages_say() -> None:
    run = SyncRun(pages=3, created=250, updated=4, unchanged=6, provisioned=240, held=1, skipped=2)

    assert progress_line(run) == (
        "3 pages read, 260 people read, 250 new, 4 changed, 240 users created, 0 deactivated, 1 held, "
        "2 skipped"
    )


def admin_of(integration: Integration) -> Client:
    return signed_in(make_user(integration.organization, role=Role.ADMIN))


def poll_url(integration: Integration, on: str = "edit") -> str:
    return f"{reverse('integrations:live', args=[integration.pk])}?on={on}"


def running(integration: Integration, **counts: int) -> SyncRun:
    """A run under way: it holds the sync lease and has saved some counters."""
    Integration.objects.filter(pk=integration.pk).update(
        sync_lease_until=timezone.now() + dt.timedelta(minutes=5)
    )
    return SyncRun.objects.create(integration=integration, trigger=Trigger.RELINK, **counts)


def test_a_running_sync_is_polled_with_its_counts_until_it_ends() -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    run = running(integration, pages=7, created=12, updated=30, unchanged=658)

    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert f'hx-get="{poll_url(integration)}&amp;section=hris&amp;since=' in page
    assert 'hx-trigger="every 2s"' in page

    fragment = client.get(poll_url(integration)).content.decode()
    assert 'data-sync-progress="running"' in fragment and 'hx-trigger="every 2s"' in fragment
    assert '<div data-count="people read"><dt>People read</dt><dd>700</dd>' in fragment
    assert '<div data-count="pages read"><dt>Pages read</dt><dd>7</dd>' in fragment

    run.finish(RunStatus.SUCCEEDED)
    Integration.objects.filter(pk=integration.pk).update(sync_lease_until=None)
    ended = client.get(poll_url(integration)).content.decode()
    assert "hx-trigger" not in ended
    assert 'data-sync-progress="succeeded"' in ended and "Sync finished" in ended
    assert '<div data-count="changed"><dt>Changed</dt><dd>30</dd>' in ended


def test_the_summary_covers_the_runs_the_polling_page_watched() -> None:
    """A catch-up, then the follow-up asked for while it ran: both are summarised, not the run before them."""
    integration = make_integration(make_org())
    client = admin_of(integration)
    SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE, created=5).finish(
        RunStatus.SUCCEEDED
    )
    catch_up = running(integration, pages=60, unchanged=3000)
    edit = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert f"&amp;since={catch_up.pk}" in edit

    catch_up.finish(RunStatus.SUCCEEDED)
    SyncRun.objects.create(integration=integration, trigger=Trigger.WEBHOOK).finish(RunStatus.SUCCEEDED)
    Integration.objects.filter(pk=integration.pk).update(sync_lease_until=None)
    ended = client.get(f"{poll_url(integration)}&since={catch_up.pk}").content.decode()

    assert ended.count("Sync finished") == 2
    assert 'data-sync-progress="succeeded" data-run-trigger="relink"' in ended
    assert 'data-sync-progress="succeeded" data-run-trigger="webhook"' in ended
    assert 'data-run-trigger="schedule"' not in ended.partition('<section class="card">')[0]
    assert "<dd>3,000</dd>" in ended


def test_a_queued_sync_is_polled_and_an_idle_page_is_not() -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    edit = reverse("integrations:edit", args=[integration.pk])
    assert "hx-trigger" not in client.get(edit).content.decode()
    assert "data-sync-progress" not in client.get(edit).content.decode()

    Integration.objects.filter(pk=integration.pk).update(
        sync_queued=Trigger.ADMIN, sync_queued_at=timezone.now()
    )

    assert 'data-sync-progress="queued"' in client.get(poll_url(integration)).content.decode()
    for url, on in [(edit, "edit"), (reverse("integrations:hris_settings"), "card")]:
        assert (
            f'hx-get="{poll_url(integration, on)}&amp;section=hris&amp;since='
            in client.get(url).content.decode()
        )


def test_the_card_and_the_row_poll_their_own_fragment() -> None:
    org = make_org()
    hris, crm = make_integration(org), make_integration(org, category=Category.CRM)
    client = admin_of(hris)
    running(crm, pages=2, created=150)

    listing = client.get(reverse("integrations:company_integrations")).content.decode()
    assert f'hx-get="{poll_url(crm, "row")}&amp;section=company&amp;since=' in listing
    assert f'hx-get="{poll_url(hris, "row")}' not in listing

    row = client.get(f"{poll_url(crm, 'row')}&section=company").content.decode()
    assert row.lstrip().startswith(f'<div class="row-live" id="live-{crm.pk}"')
    assert f'<span id="last-sync-{crm.pk}" hx-swap-oob="true">' in row
    assert '<div data-count="new"><dt>New</dt><dd>150</dd>' in row
    card = client.get(poll_url(hris, "card")).content.decode()
    assert card.lstrip().startswith(f'<div class="card-live" id="live-{hris.pk}"')
    assert "hx-trigger" not in card


def test_the_poll_is_for_the_organization_s_admins_only() -> None:
    integration = make_integration(make_org())
    other = make_integration(make_org())
    member = signed_in(make_user(integration.organization))

    assert admin_of(integration).get(poll_url(other)).status_code == 404
    assert member.get(poll_url(integration)).status_code == 403
    assert Client().get(poll_url(integration)).status_code == 302
    # A page left open past its session: the poll sends the whole page to sign in.
    edit = reverse("integrations:edit", args=[integration.pk])
    expired = Client().get(
        poll_url(integration), headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{edit}"}
    )
    assert expired.status_code == 200 and expired.content == b""
    assert expired["HX-Redirect"] == f"{reverse('account_login')}?next={quote(edit, safe='')}"
    assert admin_of(integration).post(poll_url(integration)).status_code == 405


@pytest.mark.parametrize("on", ["edit", "card", "row"])
def test_a_poll_issues_the_same_queries_however_many_runs_and_people(on: str) -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    running(integration, pages=1)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(poll_url(integration, on)).status_code == 200
        return len(captured)

    few = queries()
    SyncRun.objects.bulk_create(
        SyncRun(integration=integration, trigger=Trigger.WEBHOOK, status=RunStatus.SUCCEEDED)
        for _ in range(30)
    )
    for _ in range(20):
        make_user(integration.organization)
    running(integration, pages=40, created=4000)

    assert queries() == few <= 8

"""History at a glance: all runs a page at a time (keyset, filtered, scoped), and on the Edit page the chart
of the last 30 days, the health strip and the totals, each at a fixed number of queries."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from skillibrium.accounts.models import Invitation, Role
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.integrations import history
from skillibrium.integrations.choices import Category, Health, Trigger
from skillibrium.integrations.models import Integration, IntegrationEvent
from skillibrium.provisioning.models import HeldChange
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db


def make_run(
    integration: Integration,
    *,
    started_at: dt.datetime,
    status: RunStatus = RunStatus.SUCCEEDED,
    trigger: Trigger = Trigger.SCHEDULE,
    seconds: float | None = 10,
    **counts: int,
) -> SyncRun:
    finished = started_at + dt.timedelta(seconds=seconds) if seconds is not None else None
    return SyncRun.objects.create(
        integration=integration,
        trigger=trigger,
        status=status,
        started_at=started_at,
        finished_at=finished,
        **counts,
    )


def admin_of(integration: Integration) -> Client:
    return signed_in(make_user(integration.organization, role=Role.ADMIN))


def history_url(integration: Integration) -> str:
    return reverse("integrations:run_history", args=[integration.pk])


def shown_runs(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-run="(\d+)"', html)]


def link(html: str, name: str) -> str | None:
    found = re.search(rf'href="([^"]+)" id="{name}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_all_runs_page_by_page_newest_first_and_back_again_at_the_same_cost() -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    start = timezone.now() - dt.timedelta(days=3)
    # Two runs share a start time: the id breaks the tie, so neither is lost nor shown twice across pages.
    # Starts carry microseconds, which a cursor must keep exactly.
    step = dt.timedelta(minutes=2, microseconds=123457)
    runs = [make_run(integration, started_at=start + n // 2 * step) for n in range(60)]
    newest_first = [r.pk for r in sorted(runs, key=lambda r: (r.started_at, r.pk), reverse=True)]

    seen, pages, costs = [], [], []
    url: str | None = history_url(integration)
    while url is not None:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        costs.append(len(queries))
        pages.append(html)
        seen += shown_runs(html)
        older = link(html, "older")
        url = history_url(integration) + older if older else None

    assert seen == newest_first
    assert [len(shown_runs(p)) for p in pages] == [25, 25, 10]
    assert len(set(costs)) == 1, costs  # the last page costs what the first does
    assert "OFFSET" not in " ".join(q["sql"].upper() for q in queries.captured_queries)
    newer = link(pages[2], "newer")
    assert newer is not None and link(pages[0], "newer") is None
    assert shown_runs(client.get(history_url(integration) + newer).content.decode()) == newest_first[25:50]


def test_runs_filtered_by_status_and_trigger() -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    now = timezone.now()
    failed_webhook = make_run(integration, started_at=now, status=RunStatus.FAILED, trigger=Trigger.WEBHOOK)
    failed_schedule = make_run(integration, started_at=now - dt.timedelta(hours=1), status=RunStatus.FAILED)
    ok_webhook = make_run(integration, started_at=now - dt.timedelta(hours=2), trigger=Trigger.WEBHOOK)

    def shown(**params: str) -> list[int]:
        return shown_runs(client.get(history_url(integration), params).content.decode())

    assert shown(status="failed") == [failed_webhook.pk, failed_schedule.pk]
    assert shown(trigger="webhook") == [failed_webhook.pk, ok_webhook.pk]
    assert shown(status="failed", trigger="webhook") == [failed_webhook.pk]
    assert shown(status="succeeded", trigger="relink") == []
    assert shown(status="nonsense") == [failed_webhook.pk, failed_schedule.pk, ok_webhook.pk]
    page = client.get(history_url(integration), {"status": "failed"}).content.decode()
    assert '<option value="failed" selected>' in page and "Show every run" in page


def test_another_organizations_runs_are_not_found_and_members_are_refused() -> None:
    mine, theirs = make_integration(make_org()), make_integration(make_org())
    make_run(theirs, started_at=timezone.now())
    admin = admin_of(mine)
    assert admin.get(history_url(theirs)).status_code == 404
    assert signed_in(make_user(mine.organization)).get(history_url(mine)).status_code == 403


def test_recent_syncs_links_to_all_runs() -> None:
    integration = make_integration(make_org())
    page = admin_of(integration).get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert f'href="{history_url(integration)}?section=hris" id="all-runs">All runs</a>' in page


def day_label(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment).date(), "M j")


def test_the_chart_draws_the_last_30_days_runs_by_outcome_people_changed_and_the_longest_run() -> None:
    integration = make_integration(make_org())
    now = timezone.now()
    today, yesterday = now - dt.timedelta(minutes=5), now - dt.timedelta(days=1)
    make_run(integration, started_at=today, seconds=30, created=4, updated=6)
    make_run(integration, started_at=today - dt.timedelta(seconds=40), seconds=125, deactivated=2)
    make_run(integration, started_at=yesterday, status=RunStatus.FAILED, seconds=5)
    make_run(integration, started_at=now - dt.timedelta(days=40), created=99)  # outside the window

    page = admin_of(integration).get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000') :]
    svg = svg[: svg.index("</svg>")]

    assert '<title id="history-chart-title">Syncs of the last 30 days' in svg
    titles = re.findall(r'<rect class="bar bar-(\w+)"[^>]*height="([\d.]+)"><title>([^<]+)</title>', svg)
    assert titles == [
        ("failed", "28.0", f"{day_label(yesterday)}: 1 failed"),
        ("succeeded", "56.0", f"{day_label(today)}: 2 succeeded"),
        ("changed", "56.0", f"{day_label(today)}: 12 people changed"),
    ]
    dots = re.findall(r'<circle class="dot-duration"[^>]*><title>([^<]+)</title>', svg)
    assert dots == [
        f"{day_label(yesterday)}: longest run 5 s",
        f"{day_label(today)}: longest run 2 min 5 s",
    ]
    assert (
        f"In the last 30 days: 3 syncs (2 succeeded, 1 failed); 12 people changed; "
        f"the longest run took 2 min 5 s. Busiest day: {day_label(today)}, with 2."
    ) in page
    assert 'aria-labelledby="history-chart-title history-chart-summary"' in page


def test_the_health_strip_shows_each_spell_in_proportion() -> None:
    integration = make_integration(make_org())
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(linked_at=now - dt.timedelta(days=40))
    integration.refresh_from_db()
    transitions = [
        (now - dt.timedelta(days=40), Health.HEALTHY, Health.DEGRADED),  # before the window: its end counts
        (now - dt.timedelta(days=39), Health.DEGRADED, Health.HEALTHY),
        (now - dt.timedelta(days=10), Health.HEALTHY, Health.RELINK_NEEDED),
        (now - dt.timedelta(days=7), Health.RELINK_NEEDED, Health.CATCHING_UP),
        (now - dt.timedelta(days=7) + dt.timedelta(hours=1), Health.CATCHING_UP, Health.HEALTHY),
    ]
    for at, before, after in transitions:
        IntegrationEvent.objects.create(integration=integration, at=at, from_health=before, to_health=after)

    page = admin_of(integration).get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    spans = re.findall(
        r'<rect class="span-(\w+)" data-health="\w+" x="([\d.]+)" y="0" width="([\d.]+)"', page
    )

    assert [s[0] for s in spans] == ["healthy", "relink_needed", "catching_up", "healthy"]
    relink = spans[1]
    whole = (now - history.window_start(timezone.get_current_timezone(), now)).total_seconds()
    assert float(relink[2]) == pytest.approx(1000 * 3 * 86400 / whole, abs=0.5)
    assert sum(float(s[2]) for s in spans) == pytest.approx(1000, abs=1.5)
    assert '<title id="health-strip-title">Health over the last 30 days</title>' in page
    legend = re.findall(r'<li data-spent="(\w+)"><span class="swatch span-\w+"></span>([^<;]+)', page)
    assert [health for health, _ in legend] == ["healthy", "relink_needed", "catching_up"]
    assert legend[1:] == [
        ("relink_needed", "Relink needed: 3 days"),
        ("catching_up", "Relinked, catching up: 1 h"),
    ]


def test_the_strip_of_a_connection_linked_this_month_starts_with_no_connection() -> None:
    integration = make_integration(make_org())
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(linked_at=now - dt.timedelta(days=2))
    page = admin_of(integration).get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert re.findall(r'data-health="(\w+)"', page.split('id="health-strip"')[1].split("</svg>")[0]) == [
        "none",
        "healthy",
    ]


def test_totals_count_the_people_of_this_connection_and_where_they_stand() -> None:
    integration = make_integration(make_org())
    crm = make_integration(integration.organization, category=Category.CRM)
    org = integration.organization
    client = admin_of(integration)
    active, invited, departed = make_user(org), make_user(org), make_user(org)
    departed.is_active = False
    departed.save()
    people = []
    for n, user in enumerate([active, invited, departed, None]):
        person = Person.objects.create(organization=org, first_name=f"P{n}", user=user)
        SourceIdentity.objects.create(integration=integration, person=person, merge_id=f"m{n}", digest="x")
        people.append(person)
    crm_only = Person.objects.create(organization=org, first_name="CRM", user=make_user(org))
    SourceIdentity.objects.create(integration=crm, person=crm_only, merge_id="c1", digest="x")
    now = timezone.now()
    Invitation.objects.create(
        user=invited,
        organization=org,
        token_hash="a",
        email=invited.email,
        expires_at=now + dt.timedelta(days=1),
    )
    Invitation.objects.create(  # expired: not pending
        user=active,
        organization=org,
        token_hash="b",
        email=active.email,
        expires_at=now - dt.timedelta(days=1),
    )
    HeldChange.objects.create(
        organization=org, person=people[0], kind="deactivate", reason="mass_deactivation"
    )
    HeldChange.objects.create(
        organization=org, person=crm_only, kind="deactivate", reason="mass_deactivation"
    )
    Integration.objects.filter(pk=integration.pk).update(next_sync_at=now + dt.timedelta(minutes=30))

    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    totals = dict(re.findall(r'data-total="(\w+)">(?:<a [^>]+>)?([^<]+)<', page))
    next_sync = totals.pop("next_sync")
    assert totals == {"people": "4", "active_users": "2", "pending_invitations": "1", "held_changes": "1"}
    assert next_sync.endswith(" UTC")

    Integration.objects.filter(pk=integration.pk).update(next_sync_at=now - dt.timedelta(minutes=1))
    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert 'data-total="next_sync">Due now<' in page

    Integration.objects.filter(pk=integration.pk).update(is_paused=True)
    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    assert 'data-total="next_sync">None while paused<' in page


def test_the_edit_page_costs_the_same_queries_with_a_month_of_runs() -> None:
    integration = make_integration(make_org())
    client = admin_of(integration)
    url = reverse("integrations:edit", args=[integration.pk])
    make_run(integration, started_at=timezone.now())
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    now = timezone.now()
    for day in range(30):
        for hour in range(3):
            make_run(integration, started_at=now - dt.timedelta(days=day, hours=hour), created=1)
        IntegrationEvent.objects.create(
            integration=integration,
            at=now - dt.timedelta(days=day, hours=5),
            from_health=Health.HEALTHY,
            to_health=Health.DEGRADED if day % 2 else Health.HEALTHY,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(one)


def test_each_run_links_to_its_own_page() -> None:
    integration = make_integration(make_org())
    run = make_run(integration, started_at=timezone.now())
    page = admin_of(integration).get(history_url(integration)).content.decode()
    detail = reverse("integrations:run_detail", args=[integration.pk, run.pk])
    assert re.search(rf'<tr data-run="{run.pk}"[^>]*>\s*<td><a href="{detail}">', page)

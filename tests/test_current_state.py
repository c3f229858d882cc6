"""What an admin sees is the current state: the dot leads to the broken integration, a Merge outage says
that relinking cannot help and refuses it, and an issue Merge resolved leaves the list."""

import pytest
from django.urls import reverse

from skillibrium.accounts.models import Role
from skillibrium.integrations import health
from skillibrium.integrations import issues as open_issues
from skillibrium.integrations.choices import Category, Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync.models import RunStatus, SyncRun
from skillibrium.sync.recent import QuietSpell, recent_rows

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db


def _dots(html: str) -> dict[str, bool]:
    my_org = html.split('aria-label="Main menu"', 1)[1].split("</nav>", 1)[0]
    return {"my_org": 'class="dot"' in my_org, "settings": 'Settings<span class="dot">' in html}


@pytest.mark.parametrize(("category", "my_org_dot"), [(Category.HRIS, True), (Category.CRM, False)])
def test_the_my_org_dot_is_for_a_broken_hris_and_settings_for_any(
    category: Category, my_org_dot: bool
) -> None:
    org = make_org()
    make_integration(org, category=Category.HRIS if category == Category.CRM else Category.CRM)
    make_integration(org, category=category, health=Health.RELINK_NEEDED)
    page = signed_in(make_user(org, role=Role.ADMIN)).get(reverse("directory:my_org")).content.decode()
    assert _dots(page) == {"my_org": my_org_dot, "settings": True}


def test_during_an_outage_relinking_is_refused_and_said_to_wait() -> None:
    org = make_org()
    integration = make_integration(org, health=Health.RELINK_NEEDED)
    client = signed_in(make_user(org, role=Role.ADMIN))
    health.open_platform_incident("Merge answered 503")

    started = client.post(reverse("integrations:relink_start", args=[integration.pk]))
    page = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()

    assert started.status_code == 503 and "relinking cannot help yet" in started.json()["error"]
    assert "No action is needed" not in page and "Fix it now" not in page
    assert "Relinking cannot help until Merge.dev answers again" in page
    assert 'id="relink"' in page and "disabled" in page.split('id="relink"', 1)[1].split(">", 1)[0]


def test_without_an_outage_the_relink_is_offered() -> None:
    org = make_org()
    integration = make_integration(org, health=Health.RELINK_NEEDED)
    page = signed_in(make_user(org, role=Role.ADMIN)).get(reverse("integrations:edit", args=[integration.pk]))
    assert "disabled" not in page.content.decode().split('id="relink"', 1)[1].split(">", 1)[0]
    assert "Fix it now" in page.content.decode()


def test_an_issue_merge_resolved_leaves_the_list() -> None:
    integration = make_integration(make_org())
    open_issues.remember(
        integration,
        [{"id": "i1", "status": "ONGOING", "error_description": "a"}, {"id": "i2", "status": "RESOLVED"}],
    )
    assert [i["id"] for i in Integration.objects.get(pk=integration.pk).merge_issues] == ["i1"]
    open_issues.forget(integration, "i1")
    assert Integration.objects.get(pk=integration.pk).merge_issues == []


def _run(integration: Integration, trigger: Trigger, **counts: object) -> SyncRun:
    run = SyncRun.objects.create(integration=integration, trigger=trigger, **counts)  # type: ignore[misc]
    return run.finish(RunStatus(counts.get("status", RunStatus.SUCCEEDED)))


def test_routine_syncs_that_change_nothing_fold_into_one_row_around_the_runs_that_matter() -> None:
    integration = make_integration(make_org())
    _run(integration, Trigger.SCHEDULE, created=3)
    _run(integration, Trigger.ADMIN, status=RunStatus.FAILED, error="Merge answered 503")
    catch_up = _run(integration, Trigger.RELINK)  # a catch-up stays a row even when it finds nothing
    quiet = [_run(integration, Trigger.WEBHOOK) for _ in range(12)]
    _run(integration, Trigger.WEBHOOK, updated=1)
    alone = _run(integration, Trigger.SCHEDULE)

    rows = recent_rows(integration.runs.all(), limit=4)

    assert rows[0] == alone and rows[1].trigger == Trigger.WEBHOOK  # type: ignore[union-attr]
    spell = rows[2]
    assert isinstance(spell, QuietSpell) and spell.runs == quiet[::-1] and spell.triggers == "Merge webhook"
    assert rows[3] == catch_up and len(rows) == 4


def test_the_edit_page_shows_a_quiet_spell_as_one_row() -> None:
    org = make_org()
    integration = make_integration(org)
    for _ in range(15):
        _run(integration, Trigger.WEBHOOK)
    page = signed_in(make_user(org, role=Role.ADMIN)).get(reverse("integrations:edit", args=[integration.pk]))
    html = page.content.decode()
    assert (html.count("data-run-fold"), html.count("data-run-status")) == (1, 0)
    assert "15 syncs, no changes" in html

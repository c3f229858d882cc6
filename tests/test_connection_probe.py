"""Test connection on the Edit page: Merge is asked about the linked account, the answer is said in plain
words, and health moves only when the answer is definite."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Category, Cause, Health, IncidentKind, Trigger
from skillibrium.integrations.models import Integration, PlatformIncident, client_for
from skillibrium.merge_client.models import FailedRequest
from skillibrium.sync.models import RunStatus

from .factories import make_integration, make_org, make_user, queued_syncs, signed_in
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, link, sync

pytestmark = pytest.mark.django_db


def linked(
    sandbox: Sandbox, provider: str = "workday", category: Category = Category.HRIS
) -> tuple[Integration, User, dict[str, Any]]:
    tenant = sandbox.tenant(provider=provider, size=5)
    integration, admin = link(sandbox, make_org(), tenant, category)
    assert sync(integration, Trigger.SETUP).status == RunStatus.SUCCEEDED
    clear_mail()
    return integration, admin, tenant


def click_test_connection(integration: Integration, admin: User, **headers: str) -> tuple[str, Any]:
    """The admin clicks Test connection; returns the page and what it found."""
    response = signed_in(admin).post(
        reverse("integrations:test_connection", args=[integration.pk]), **headers
    )
    assert response.status_code == 200
    integration.refresh_from_db()
    return response.content.decode(), response.context["probe"]


def answers(found: Any) -> list[tuple[str, bool | None]]:
    return [(check.question, check.passed) for check in found.checks]


@pytest.mark.parametrize(
    ("provider", "category", "record"),
    [("workday", Category.HRIS, "employee"), ("salesforce", Category.CRM, "user")],
)
def test_a_working_connection_says_so_and_changes_nothing(
    sandbox: Sandbox, provider: str, category: Category, record: str
) -> None:
    integration, admin, _ = linked(sandbox, provider, category)
    events = integration.events.count()
    edit_page = "company_edit" if category == Category.CRM else "edit"
    edit = signed_in(admin).get(reverse(f"integrations:{edit_page}", args=[integration.pk])).content.decode()
    assert 'id="test-connection"' in edit

    page, found = click_test_connection(integration, admin, HTTP_HX_REQUEST="true")

    assert found.verdict == "works" and not found.health_changed
    assert answers(found) == [
        ("Linked account", True),
        ("Open issues at Merge.dev", True),
        (f"Reading one {record}", True),
    ]
    assert f"Works.</strong> Merge.dev reaches {integration.provider_name}, and its data" in page
    assert (integration.health, integration.events.count()) == (Health.HEALTHY, events)
    entry = AuditEntry.objects.get(action="integration.connection_tested")
    assert (entry.actor_id, entry.detail["verdict"]) == (admin.pk, "works")
    assert integration.account_token not in page and integration.account_token not in str(entry.detail)
    assert sent_mail() == []


def test_a_password_reset_at_the_provider_is_a_relink_with_its_cause(sandbox: Sandbox) -> None:
    integration, admin, tenant = linked(sandbox)
    sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")
    sandbox.merge_sync()

    page, found = click_test_connection(integration, admin)

    assert (found.verdict, found.cause) == ("relink_needed", Cause.PASSWORD_RESET)
    assert answers(found)[0] == ("Linked account", False) and answers(found)[1][1] is False
    assert (integration.health, integration.cause) == (Health.RELINK_NEEDED, Cause.PASSWORD_RESET)
    assert integration.merge_issues and integration.merge_issues[0]["error_description"]
    assert "Status changed: Healthy → Relink needed" in page
    assert (
        "Relink needed.</strong> Password reset for the linked user account. An admin relinks the "
        "integration and signs in with the sync user&#x27;s new password."
    ) in page
    assert [m.subject for m in sent_mail() if "Action required" in m.subject] != []


def test_relinked_outside_skillibrium_it_works_again_and_catches_up(sandbox: Sandbox) -> None:
    integration, admin, tenant = linked(sandbox)
    password = sandbox.control("POST", f"tenants/{tenant['id']}/reset-password")["password"]
    sandbox.merge_sync()
    sync(integration)
    assert integration.health == Health.RELINK_NEEDED
    token = relink.start_link(organization=integration.organization, category="hris", email=admin.email)
    sandbox.complete_link(token, tenant, password)  # Merge Link finished elsewhere: Skillibrium was not told

    _, found = click_test_connection(integration, admin)

    assert found.verdict == "works" and found.health_change == "Relink needed → Relinked, catching up"
    assert integration.health == Health.CATCHING_UP
    assert [t.args_kwargs["args"] for t in queued_syncs(integration)] == [[integration.pk, Trigger.RELINK]]


def test_an_account_deleted_at_merge_is_gone(sandbox: Sandbox) -> None:
    integration, admin, _ = linked(sandbox)
    with client_for(integration) as merge:
        merge.delete_account()

    page, found = click_test_connection(integration, admin)

    assert found.verdict == "account_gone"
    assert (
        "Linked account gone.</strong> Linked account deleted. An admin connects the provider again." in page
    )
    assert answers(found) == [
        ("Linked account", False),
        ("Open issues at Merge.dev", None),
        ("Reading one employee", None),
    ]
    assert (integration.health, integration.cause) == (Health.DISCONNECTED, Cause.ACCOUNT_DELETED)


def test_a_problem_merge_reports_without_a_relink_is_said_and_left_to_the_next_sync(
    sandbox: Sandbox,
) -> None:
    integration, admin, tenant = linked(sandbox)
    sandbox.control("POST", f"tenants/{tenant['id']}/offline")
    sandbox.merge_sync()

    page, found = click_test_connection(integration, admin)

    assert (found.verdict, found.cause) == ("problem_reported", Cause.PROVIDER_OUTAGE)
    assert answers(found) == [
        ("Linked account", True),
        ("Open issues at Merge.dev", False),
        ("Reading one employee", True),
    ]
    assert "Merge.dev reports a problem: provider outage" in page
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)


def test_merge_unreachable_changes_no_health(sandbox: Sandbox) -> None:
    integration, admin, _ = linked(sandbox)
    events = integration.events.count()
    sandbox.control("POST", "outage", mode="503")

    page, found = click_test_connection(integration, admin)

    assert found.verdict == "merge_unreachable" and not found.health_changed
    assert answers(found)[0] == ("Linked account", False)
    assert "says nothing about your connection" in page
    assert (integration.health, integration.cause, integration.events.count()) == (
        Health.HEALTHY,
        Cause.NONE,
        events,
    )
    assert sent_mail() == []


def test_an_answer_merge_should_not_give_is_unclear_and_changes_no_health(
    sandbox: Sandbox, settings: Settings
) -> None:
    integration, admin, _ = linked(sandbox)
    settings.MERGE_API_URL = f"{sandbox.url}/api/not-merge"  # every route answers 404

    page, found = click_test_connection(integration, admin)

    assert found.verdict == "unclear" and "Merge answered 404" in page
    assert answers(found)[0] == ("Linked account", False)
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)
    assert PlatformIncident.objects.count() == 0


def test_our_api_key_refused_is_a_platform_incident_not_a_broken_connection(
    sandbox: Sandbox, settings: Settings
) -> None:
    integration, admin, _ = linked(sandbox)
    settings.MERGE_API_KEY = "a-revoked-key"

    page, found = click_test_connection(integration, admin)

    assert found.verdict == "api_key_refused" and "This is Skillibrium&#x27;s problem, not yours" in page
    assert (integration.health, integration.cause) == (Health.HEALTHY, Cause.NONE)
    incident = PlatformIncident.objects.get()
    assert (incident.kind, incident.ended_at) == (IncidentKind.API_KEY_REJECTED, None)
    failures = FailedRequest.objects.count()

    _, again = click_test_connection(integration, admin)

    assert again.verdict == "api_key_refused" and {c.passed for c in again.checks} == {None}
    assert FailedRequest.objects.count() == failures  # while the incident is open, Merge is not asked
    assert sent_mail() == []


def test_only_an_admin_of_the_organization_may_test() -> None:
    integration = make_integration(make_org())
    url = reverse("integrations:test_connection", args=[integration.pk])
    member = make_user(integration.organization)
    other_admin = make_user(make_org(), role=Role.ADMIN)

    assert signed_in(member).post(url).status_code == 403
    assert signed_in(other_admin).post(url).status_code == 404
    assert Client().post(url).status_code == 302
    assert not AuditEntry.objects.filter(action="integration.connection_tested").exists()


def test_a_connection_disconnected_on_purpose_has_nothing_to_test() -> None:
    integration = make_integration(make_org())
    integration.set_health(Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN)
    admin = make_user(integration.organization, role=Role.ADMIN)
    client = signed_in(admin)

    edit = client.get(reverse("integrations:edit", args=[integration.pk])).content.decode()
    response = client.post(reverse("integrations:test_connection", args=[integration.pk]), follow=True)

    assert 'id="test-connection"' not in edit
    assert "There is nothing to test: the integration was disconnected." in response.content.decode()
    assert not AuditEntry.objects.filter(action="integration.connection_tested").exists()

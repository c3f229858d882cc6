"""Company Settings > People: roles, hand activation with overrides the HRIS sync respects, and its guards."""

import pytest
from django.test import Client
from django.urls import reverse

from skillibrium.accounts.models import AccessOverride, Membership, Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.provisioning.tasks import provision_everyone

from .factories import make_org, make_user, signed_in
from .sandboxed import Sandbox, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def act(client: Client, action: str, user: User) -> None:
    client.post(reverse(f"accounts:people_{action}", args=[user.pk]))


def test_promote_and_demote_are_audited_and_the_last_admin_stays() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    client = signed_in(admin)
    act(client, "promote", member)
    assert Membership.objects.get(user=member).role == Role.ADMIN
    entry = AuditEntry.objects.get(action="user.promoted")
    assert (entry.target, entry.detail["before"], entry.actor_id) == (
        member.email,
        {"role": "member"},
        admin.pk,
    )
    act(client, "demote", member)
    act(client, "demote", admin)
    response = client.get(reverse("accounts:people"))
    assert Membership.objects.get(user=admin).role == Role.ADMIN
    assert "last active admin" in response.content.decode()
    assert AuditEntry.objects.filter(action="user.demoted").count() == 1


def test_deactivate_by_hand_refuses_self_and_is_audited() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    client = signed_in(admin)
    act(client, "deactivate", admin)
    act(client, "deactivate", member)
    admin.refresh_from_db()
    member.refresh_from_db()
    assert (admin.is_active, member.is_active) == (True, False)
    assert AuditEntry.objects.get(action="user.deactivated_by_hand").target == member.email
    act(client, "reactivate", member)
    member.refresh_from_db()
    assert member.is_active and Membership.objects.get(user=member).access_override == ""


def test_members_are_refused_and_another_organizations_user_is_not_found() -> None:
    org = make_org()
    admin, member = make_user(org, role=Role.ADMIN), make_user(org)
    stranger = make_user(make_org())
    assert signed_in(member).get(reverse("accounts:people")).status_code == 403
    response = signed_in(admin).post(reverse("accounts:people_deactivate", args=[stranger.pk]))
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_a_page_of_many_users_costs_a_few_queries(django_assert_max_num_queries: object) -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    for n in range(60):
        make_user(org, email=f"person{n:03}@example.com")
    client = signed_in(admin)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = client.get(reverse("accounts:people"))
    assert response.content.decode().count('name="csrfmiddlewaretoken"') >= 50
    assert "Next" in response.content.decode()


def test_hand_deactivation_of_an_active_hris_person_is_kept_across_syncs(sandbox: Sandbox) -> None:
    integration, _, _, client = setup(sandbox, size=5)
    person = provisioned(integration)[0]
    assert person.user is not None
    act(client, "deactivate", person.user)
    assert Membership.objects.get(user=person.user).access_override == AccessOverride.KEPT_DEACTIVATED
    sync(integration)
    person.user.refresh_from_db()
    assert not person.user.is_active
    act(client, "clear_override", person.user)
    assert AuditEntry.objects.filter(action="user.override_cleared").count() == 1
    provision_everyone.call(integration.organization_id)  # the pass clearing queues
    person.user.refresh_from_db()
    assert person.user.is_active


def test_hand_reactivation_of_a_terminated_hris_person_is_kept_across_syncs(sandbox: Sandbox) -> None:
    integration, _, tenant, client = setup(sandbox, size=5)
    person = provisioned(integration)[0]
    assert person.user is not None
    sandbox.control("POST", f"tenants/{tenant['id']}/people/{person.identities.get().remote_id}/terminate")
    sandbox.merge_sync()
    sync(integration)
    person.user.refresh_from_db()
    assert not person.user.is_active
    act(client, "reactivate", person.user)
    assert Membership.objects.get(user=person.user).access_override == AccessOverride.KEPT_ACTIVE
    sync(integration)
    person.user.refresh_from_db()
    assert person.user.is_active
    act(client, "clear_override", person.user)
    provision_everyone.call(integration.organization_id)
    person.user.refresh_from_db()
    assert not person.user.is_active


def test_invite_by_email_and_resend_are_audited() -> None:
    org = make_org()
    admin = make_user(org, role=Role.ADMIN)
    client = signed_in(admin)
    client.post(reverse("accounts:people_invite"), {"email": "Contractor@Example.com"})
    invited = User.objects.get(email="contractor@example.com")
    assert Membership.objects.get(user=invited).organization == org
    act(client, "resend", invited)
    actions = set(AuditEntry.objects.filter(target=invited.email).values_list("action", flat=True))
    assert {"invitation.sent", "invitation.resent"} <= actions

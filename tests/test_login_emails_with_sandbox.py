"""Issue item 4: sign-in emails follow the HRIS, against a real sandbox. Nobody's account goes to someone
else, whatever the sequence of address changes, and no sequence stops a run."""

import pytest
from allauth.account.internal.userkit import filter_users_by_email
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from skillibrium.accounts import sso
from skillibrium.accounts.models import User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldReason, HoldStatus
from skillibrium.sync.engine import preview_sync

from .factories import PASSWORD, make_sso
from .sandboxed import Sandbox, people_path, provisioned, setup, sync

pytestmark = pytest.mark.django_db


def user_of(person: Person) -> User:
    return User.objects.get(pk=person.user_id)


def test_item_4_a_changed_work_email_becomes_the_sign_in_email(sandbox: Sandbox) -> None:
    """The user's email follows (audited); password and SSO sign-in work with the new address, and nothing
    left at the old one (allauth's address row, a SAML identity named by it) still leads to the account."""
    integration, _, tenant, _ = setup(sandbox, size=12)
    person = provisioned(integration)[3]
    user, old = user_of(person), person.work_email
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=old, primary=True, verified=True)
    configuration = make_sso(integration.organization, domains=(old.partition("@")[2],))
    SocialAccount.objects.create(user=user, provider=configuration.provider_id, uid=old)
    new = "renamed.person@" + old.partition("@")[2]
    sandbox.control("PATCH", people_path(tenant, person), work_email=new)
    sandbox.merge_sync()
    assert preview_sync(integration_id=integration.pk).changes.emails_changed == 1
    assert User.objects.get(pk=user.pk).email == old

    run = sync(integration)

    user.refresh_from_db()
    assert (run.status, user.email, user.is_active) == ("succeeded", new, True)
    change = AuditEntry.objects.get(organization=integration.organization, action="user.email_changed")
    assert (change.target, change.detail) == (new, {"before": {"email": old}, "after": {"email": new}})
    assert not EmailAddress.objects.filter(email=old).exists()
    assert not SocialAccount.objects.filter(uid=old).exists()
    assert filter_users_by_email(old) == []
    client = Client()
    response = client.post(reverse("account_login"), {"login": new, "password": PASSWORD})
    assert response.status_code == 302
    assert sso.user_for_sign_in(configuration=configuration, email=new) == user
    with pytest.raises(sso.SSORefused):
        sso.user_for_sign_in(configuration=configuration, email=old)


def test_item_4_swaps_chains_and_a_recycled_address_never_crash_or_hand_over_an_account(
    sandbox: Sandbox,
) -> None:
    """In one run: A and B swap addresses; C takes D's, D takes E's, E a new one; a new hire gets a leaver's
    address. Every user keeps their own person; the new hire is held, not given the leaver's account, until
    an admin frees the address; then a password reset for it reaches the new hire only."""
    integration, _, tenant, client = setup(sandbox, size=12)
    a, b, c, d, e, leaver = provisioned(integration)[1:7]
    sandbox.control("POST", f"{people_path(tenant, leaver)}/terminate")
    sandbox.merge_sync()
    sync(integration)
    users = {p.pk: user_of(p) for p in (a, b, c, d, e, leaver)}
    domain = a.work_email.partition("@")[2]
    moves = [
        (a, b.work_email),
        (b, a.work_email),
        (c, d.work_email),
        (d, e.work_email),
        (e, f"e.new@{domain}"),
    ]
    for person, email in moves:
        sandbox.control("PATCH", people_path(tenant, person), work_email=email)
    hire = sandbox.control(
        "POST", people_path(tenant), first_name="Newly", last_name="Hired", work_email=leaver.work_email
    )
    sandbox.merge_sync()
    users_before = User.objects.count()

    run = sync(integration)

    assert (run.status, run.skipped, run.provisioned) == ("succeeded", 0, 0)
    assert User.objects.count() == users_before
    for person, email in moves:
        person.refresh_from_db()
        user = user_of(person)
        assert (person.user_id, user.email, user.is_active) == (users[person.pk].pk, email, True)
    newcomer = Person.objects.get(organization=integration.organization, first_name="Newly")
    assert newcomer.pk != leaver.pk and newcomer.user_id is None
    assert not user_of(leaver).is_active and user_of(leaver).email == leaver.work_email
    held = HeldChange.objects.get(person=newcomer, status=HoldStatus.PENDING)
    assert (held.kind, held.reason) == (ChangeKind.CREATE, HoldReason.EMAIL_TAKEN)
    assert "deactivated account of" in held.evidence
    assert sync(integration).held == 0  # asked once, not on every run

    client.post(reverse("provisioning:decide"), {"decision": "approve", "held": [held.pk]})

    newcomer.refresh_from_db()
    assert newcomer.user_id is not None and newcomer.user_id != leaver.user_id
    assert user_of(newcomer).email == hire["work_email"] and not user_of(leaver).is_active
    assert [u.pk for u in filter_users_by_email(hire["work_email"], is_active=True)] == [newcomer.user_id]
    released = AuditEntry.objects.get(organization=integration.organization, action="user.email_released")
    assert (released.target, user_of(leaver).email) == (hire["work_email"], released.detail["after"]["email"])


def test_item_4_a_move_onto_another_user_s_address_is_held_with_the_reason(sandbox: Sandbox) -> None:
    """The admin who linked the HRIS has no person; a person whose address becomes the admin's keeps their
    own sign-in email, the admin keeps theirs, and the review queue says whose the address is."""
    integration, admin, tenant, client = setup(sandbox, size=12)
    person = provisioned(integration)[4]
    old = person.work_email
    sandbox.control("PATCH", people_path(tenant, person), work_email=admin.email)
    sandbox.merge_sync()

    run = sync(integration)

    admin.refresh_from_db()
    assert (run.status, run.held, user_of(person).email, admin.email) == ("succeeded", 1, old, admin.email)
    held = HeldChange.objects.get(person=person, status=HoldStatus.PENDING)
    assert (held.kind, held.reason) == (ChangeKind.CHANGE_EMAIL, HoldReason.EMAIL_TAKEN)
    assert held.evidence.startswith(f"The source changed the work email from {old} to {admin.email}")
    assert "Skillibrium account has this address" in held.evidence
    assert admin.email in client.get(reverse("provisioning:review")).content.decode()
    assert sync(integration).held == 0

    client.post(reverse("provisioning:decide"), {"decision": "reject", "held": [held.pk]})
    sandbox.control("PATCH", people_path(tenant, person), last_name="Reconsidered")
    sandbox.merge_sync()
    assert sync(integration).held == 0  # rejected: not asked again while the address is the same
    assert user_of(person).last_name == "Reconsidered"
    assert not HeldChange.objects.filter(person=person, status=HoldStatus.PENDING).exists()
    free = "moved.on@" + old.partition("@")[2]
    sandbox.control("PATCH", people_path(tenant, person), work_email=free)
    sandbox.merge_sync()
    sync(integration)
    assert user_of(person).email == free


def test_item_4_a_record_the_database_refuses_is_skipped_and_reported_while_the_rest_applies(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that could not see a concurrent writer (here: told nobody has the address) meets the unique
    constraint: that one change is skipped and named in the run, the others of its batch still apply."""
    integration, admin, tenant, _ = setup(sandbox, size=12)
    mover, renamed = provisioned(integration)[5:7]
    sandbox.control("PATCH", people_path(tenant, mover), work_email=admin.email)
    sandbox.control("PATCH", people_path(tenant, renamed), last_name="Renamed")
    hire = sandbox.control("POST", people_path(tenant), first_name="Still", last_name="Welcome")
    sandbox.merge_sync()
    monkeypatch.setattr("skillibrium.provisioning.logins.holders", lambda emails: {})

    run = sync(integration)

    assert (run.status, run.skipped, run.provisioned) == ("succeeded", 1, 1)
    assert run.record_errors[0]["id"] == admin.email
    assert User.objects.get(email=hire["work_email"]).is_active
    assert user_of(renamed).last_name == "Renamed" and user_of(mover).email == mover.work_email


def test_item_4_a_member_found_by_email_keeps_their_account_when_the_address_changes(
    sandbox: Sandbox,
) -> None:
    """The admin who linked the HRIS is found by email when the HRIS first lists them, and linked: when the
    HRIS later changes their address, their own account follows instead of a second one being created."""
    integration, admin, tenant, client = setup(sandbox, size=12)
    record = sandbox.control("POST", people_path(tenant), first_name="Ada", work_email=admin.email)
    sandbox.merge_sync()
    sync(integration)
    person = Person.objects.get(organization=integration.organization, work_email=admin.email)
    assert person.user_id == admin.pk
    users_before = User.objects.count()
    new = "ada.renamed@" + admin.email.partition("@")[2]
    sandbox.control("PATCH", f"tenants/{tenant['id']}/people/{record['remote_id']}", work_email=new)
    sandbox.merge_sync()

    sync(integration)

    admin.refresh_from_db()
    assert (admin.email, admin.is_active, User.objects.count()) == (new, True, users_before)
    assert client.get(reverse("provisioning:review")).status_code == 200

"""The staff admin (/staff/admin/): staff only, with a second factor, through allauth's sign-in; read-only;
no account token on any page; each list's query count independent of its rows."""

import re
from collections.abc import Iterator

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.core import crypto
from skillibrium.integrations.choices import Health, IncidentKind
from skillibrium.integrations.models import Integration, IntegrationEvent, PlatformIncident
from skillibrium.shell.staff_admin.registry import site
from skillibrium.sync.models import RunAction, RunEntry, SyncRun, Trigger

from .factories import PASSWORD, make_integration, make_org, make_user, queued_syncs

pytestmark = pytest.mark.django_db

ADMIN = reverse("admin:index")
LOGIN = reverse("account_login")
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOKEN = "tok-3c9e41-known-account-token"
MODELS = [Organization, Membership, Integration, SyncRun, RunEntry, IntegrationEvent, PlatformIncident]


def _code(secret: str = SECRET) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def _staff(email: str = "support@skillibrium.example") -> User:
    return User.objects.create_user(email, PASSWORD, is_staff=True)


def _enrol(user: User) -> None:
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt(SECRET)}
    )


def _sign_in(email: str, *, code: bool) -> Client:
    """Through allauth's own sign-in, as a browser would: the password, then the code when asked for one."""
    client = Client()
    response = client.post(LOGIN, {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    if code:
        assert response["Location"] == reverse("mfa_authenticate")
        assert client.post(reverse("mfa_authenticate"), {"code": _code()}).status_code == 302
    assert client.session.get("_auth_user_id")
    return client


def staff_with_mfa() -> Client:
    staff = _staff()
    _enrol(staff)
    return _sign_in(staff.email, code=True)


def _world() -> dict[type, object]:
    """One row of each kind the admin lists, with a known account token on the integration."""
    organization = make_org("Acme")
    make_user(organization, role=Role.ADMIN)
    integration = make_integration(organization)
    integration.account_token = TOKEN
    integration.save()
    run = SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE)
    RunEntry.objects.create(run=run, name="Ada Lovelace", email="ada@acme.example", action=RunAction.CREATED)
    IntegrationEvent.objects.create(
        integration=integration, from_health=Health.HEALTHY, to_health=Health.RELINK_NEEDED
    )
    PlatformIncident.objects.create(kind=IncidentKind.MERGE_OUTAGE, detail="Merge answers 503")
    from skillibrium.sync.tasks import sync_linked_account

    sync_linked_account.enqueue(integration.pk, Trigger.SCHEDULE)
    return {
        Organization: organization,
        Membership: Membership.objects.get(organization=organization),
        Integration: integration,
        SyncRun: run,
        RunEntry: run.entries.get(),
        IntegrationEvent: integration.events.get(),
        PlatformIncident: PlatformIncident.objects.get(),
        DBTaskResult: queued_syncs(integration)[0],
    }


def _url(model: type, page: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def _pages(rows: dict[type, object]) -> Iterator[str]:
    yield ADMIN
    for model, row in rows.items():
        yield reverse("admin:app_list", args=[model._meta.app_label])
        yield _url(model, "changelist")
        yield _url(model, "changelist") + "?q=a"
        yield _url(model, "change", row.pk)  # type: ignore[attr-defined]
        yield _url(model, "history", row.pk)  # type: ignore[attr-defined]


def test_customers_are_refused_and_the_signed_out_sent_to_allauth_sign_in() -> None:
    organization = make_org()
    for role in (Role.MEMBER, Role.ADMIN):
        user = make_user(organization, role=role)
        _enrol(user)
        client = _sign_in(user.email, code=True)
        assert client.get(ADMIN).status_code == 403
        assert client.get(_url(Integration, "changelist")).status_code == 403
    response = Client().get(_url(Integration, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=/staff/admin/")


def test_the_admin_sign_in_page_is_allauths() -> None:
    """Its own form would skip the lockout, the SSO policy and the second factor."""
    response = Client().get(reverse("admin:login") + "?next=/staff/admin/integrations/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=/staff/admin/integrations/"
    staff = _staff()
    _enrol(staff)
    posted = Client().post(reverse("admin:login"), {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith(LOGIN)
    assert Client().get(posted["Location"]).status_code == 200  # allauth's page, which asks for the code


def test_staff_without_an_authenticator_app_are_sent_to_set_one_up() -> None:
    client = _sign_in(_staff().email, code=False)
    response = client.get(_url(Integration, "changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("staff_operations")).status_code == 200  # the operations view stays open


def test_staff_signed_in_with_a_password_only_are_asked_for_the_code() -> None:
    """The app was set up after this sign-in: the session never saw a code, so the admin asks for one."""
    staff = _staff()
    client = _sign_in(staff.email, code=False)
    _enrol(staff)
    wanted = _url(Integration, "changelist")
    response = client.get(wanted)
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{reverse('mfa_reauthenticate')}?next=%2Fstaff%2Fadmin%2Fintegrations%2Fintegration%2F"
    )
    assert client.get(response["Location"]).status_code == 200
    assert client.post(response["Location"], {"code": "000000"}).status_code == 200
    assert client.get(wanted).status_code == 302  # a wrong code is no code
    answered = client.post(response["Location"], {"code": _code()})
    assert answered.status_code == 302 and answered["Location"] == wanted
    assert client.get(wanted).status_code == 200


def test_deactivated_staff_are_not_let_in() -> None:
    client = staff_with_mfa()
    User.objects.filter(is_staff=True).update(is_active=False)
    assert client.get(ADMIN).status_code in {302, 403}
    assert b"Skillibrium staff admin" not in client.get(ADMIN, follow=True).content


def test_staff_with_a_second_factor_see_every_list_and_entry() -> None:
    rows = _world()
    client = staff_with_mfa()
    index = client.get(ADMIN)
    assert index.status_code == 200
    for model in [*MODELS, DBTaskResult]:
        assert _url(model, "changelist") in index.content.decode()
    for url in _pages(rows):
        assert client.get(url).status_code == 200, url
    runs = client.get(_url(SyncRun, "changelist")).content.decode()
    assert f"{_url(RunEntry, 'changelist')}?run__id__exact={rows[SyncRun].pk}" in runs  # type: ignore[attr-defined]
    entries = client.get(f"{_url(RunEntry, 'changelist')}?run__id__exact={rows[SyncRun].pk}")  # type: ignore[attr-defined]
    assert "ada@acme.example" in entries.content.decode()
    assert "Acme" in client.get(_url(Integration, "changelist")).content.decode()


def test_the_operations_page_links_to_the_staff_admin() -> None:
    page = staff_with_mfa().get(reverse("staff_operations")).content.decode()
    assert f'href="{ADMIN}"' in page


def test_nothing_can_be_added_changed_or_deleted() -> None:
    rows = _world()
    client = staff_with_mfa()
    before = {m: list(m._default_manager.order_by("pk").values()) for m in rows}
    for model, row in rows.items():
        pk = row.pk  # type: ignore[attr-defined]
        base = _url(model, "changelist")
        for path in ("add/", f"{pk}/delete/"):
            assert client.get(base + path).status_code == 404, base + path
            assert client.post(base + path, {}).status_code == 404, base + path
        change = client.get(_url(model, "change", pk)).content.decode()
        assert not re.search(r'name="_(save|continue|addanother)"', change)
        assert change.count('type="submit"') == 1  # the header's "Log out"
        assert client.post(_url(model, "change", pk), {"_save": "1"}).status_code == 405
        assert client.post(base, {"action": "delete_selected", "_selected_action": [pk]}).status_code == 405
    assert {m: list(m._default_manager.order_by("pk").values()) for m in rows} == before
    for model_admin in site._registry.values():
        assert not model_admin.get_actions(client.get(ADMIN).wsgi_request)


def test_no_account_token_appears_on_any_page() -> None:
    rows = _world()
    client = staff_with_mfa()
    seen = 0
    for url in _pages(rows):
        page = client.get(url).content.decode()
        assert TOKEN not in page, url
        assert crypto.encrypt(TOKEN)[:12] not in page, url
        seen += 1
    change = client.get(_url(Integration, "change", rows[Integration].pk)).content.decode()  # type: ignore[attr-defined]
    assert "Merge account" in change or rows[Integration].merge_account_id in change  # type: ignore[attr-defined]
    assert not re.search(r"account[ _]token", change, re.IGNORECASE)
    assert seen == 1 + 5 * len(rows)


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", [*MODELS, DBTaskResult], ids=lambda m: m.__name__)
def test_a_lists_queries_do_not_grow_with_its_rows(model: type) -> None:
    client = staff_with_mfa()
    _world()
    few = _queries(client, _url(model, "changelist"))
    for _ in range(6):
        _world_more()
    assert _queries(client, _url(model, "changelist")) == few


def _world_more() -> None:
    """More of each row, in organizations of their own."""
    organization = make_org()
    make_user(organization)
    integration = make_integration(organization)
    run = SyncRun.objects.create(
        integration=integration, trigger=Trigger.SCHEDULE, finished_at=timezone.now()
    )
    RunEntry.objects.create(run=run, name="Someone", action=RunAction.UPDATED)
    IntegrationEvent.objects.create(
        integration=integration, from_health=Health.HEALTHY, to_health=Health.DEGRADED
    )
    PlatformIncident.objects.create(kind=IncidentKind.MERGE_OUTAGE, ended_at=timezone.now())
    from skillibrium.sync.tasks import sync_linked_account

    sync_linked_account.enqueue(integration.pk, Trigger.SCHEDULE)

"""Every URL in the project, walked from the URL resolver, so routes added later are held to the same rules.

Bravo (the victim) has a row in every table that belongs to an organization. Each route is requested with GET
and POST, its ids filled with Bravo's, as: anonymous, a member of Alpha, an admin of Alpha, and Skillibrium
staff. No response may show any of Bravo's data, no request may change it, admin-only routes refuse members,
staff routes refuse customers, and every view of ours declares who may use it (accounts/access.py).
Each request runs in a savepoint that is rolled back, so one attempt never disturbs the next.
"""

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from skillibrium.accounts.access import Access
from skillibrium.accounts.models import Role, User

from .factories import make_integration, make_org, make_sso, make_user, with_second_factor
from .tenancy import MARK, SECRET_MARK, Victim, make_victim

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
ANONYMOUS, MEMBER, ADMIN, STAFF = "anonymous", "member of Alpha", "admin of Alpha", "staff"

# Staff's operations view lists every organization by design (never a secret); see access.py.
# An organization's SSO endpoints are public by design: an IdP and a browser reach them before sign-in,
# addressed by the organization's unguessable SSO slug. They may name the IdP; they may change nothing.
SSO_ROUTES = {"saml_acs", "saml_finish_acs", "saml_sls", "saml_metadata", "saml_login"}
SSO_ROUTES |= {"openid_connect_login", "openid_connect_callback"}
# Ask Merge for a link token before anything else: the walk has no Merge, so they answer 502 (Bad Gateway),
# and say so, to the one actor allowed to use them.
MERGE_ROUTES = {"connect_start"}
# Readiness answers 503 when the product cannot do its job, and in the walk no scheduler ticks: its 503 is
# an answer, not a crash (tests/test_readiness.py shows each reason).
READINESS_ROUTES = {"readyz"}
# The staff admin (shell/staff_admin/) sends staff elsewhere for what it does not do itself: signing out and
# passwords to allauth's pages, an entry that does not exist back to its index.
STAFF_ADMIN_REDIRECTS = {
    reverse("admin:index"),
    reverse("account_logout"),
    reverse("account_change_password"),
}
# Exempt from CSRF because the request comes from elsewhere and carries its own proof.
CSRF_EXEMPT = {
    "merge_webhook": "Merge signs each delivery (X-Merge-Webhook-Signature)",
    "saml_acs": "the identity provider posts a signed SAML response",
    "saml_sls": "the identity provider's signed logout message",
}


@dataclass(frozen=True)
class Route:
    template: str
    name: str | None
    callback: Callable[..., Any]

    @property
    def params(self) -> list[tuple[str, bool]]:
        """(name, is_int) of each URL parameter."""
        found = re.findall(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>", self.template)
        return [(conv_name or regex_name, conv == "int") for conv, conv_name, regex_name in found]

    @property
    def access(self) -> str | None:
        return getattr(self.callback, "access", None)

    @property
    def is_public(self) -> bool:
        return getattr(self.callback, "login_required", True) is False

    @property
    def short_name(self) -> str:
        return (self.name or "").rpartition(":")[2]

    def url(self, values: dict[str, Any]) -> str:
        if self.name:
            return reverse(self.name, kwargs=values)
        assert not values, f"unnamed route with parameters: {self.template}"
        return "/" + self.template


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield Route(prefix + str(pattern.pattern), name, pattern.callback)


ROUTES = list(_walk(get_resolver().url_patterns))


@dataclass
class World:
    victim: Victim
    owner: Client  # Bravo's own admin: which of Bravo's ids a route addresses at all
    clients: dict[str, Client]
    baseline: dict[str, list[dict[str, Any]]]


@pytest.fixture
def world() -> World:
    victim = make_victim()
    alpha = make_org("Alpha")
    make_integration(alpha)
    make_sso(alpha, protocol="saml", domains=("alpha.example",))
    clients = {ANONYMOUS: Client()}
    for actor, user in [
        (MEMBER, make_user(alpha)),
        (ADMIN, make_user(alpha, role=Role.ADMIN)),
        (STAFF, User.objects.create_user("support@skillibrium.example", "x", is_staff=True)),
    ]:
        clients[actor] = Client()
        clients[actor].force_login(user)
    with_second_factor(clients[STAFF], User.objects.get(email="support@skillibrium.example"))
    owner = Client()
    owner.force_login(victim.admin)
    return World(victim=victim, owner=owner, clients=clients, baseline=victim.snapshot())


def attempt(
    client: Client, method: str, url: str, check: Callable[[HttpResponse], None] | None = None
) -> Any:
    """Request in a savepoint, look at the outcome inside it, then roll everything back."""
    with transaction.atomic():
        response = client.post(url, {}) if method == "POST" else client.get(url)
        result = check(response) if check else None
        transaction.set_rollback(True)
    return response if check is None else result


def _ids_for(name: str, owned: dict[int, type[models.Model]]) -> list[int]:
    """`pk` takes every id Bravo owns; a `<thing>_id` takes the ids of tables named like it (or every id)."""
    stem = name.removesuffix("_id").replace("_", "")[:6]
    named = [pk for pk, model in owned.items() if model.__name__.lower().startswith(stem)]
    return named if name != "pk" and named else list(owned)


def text_value(route: Route, name: str, victim: Victim | None = None) -> str:
    """A text parameter: the staff admin's app label or Bravo's entry there, Bravo's SSO slugs, or a mark."""
    model_admin = getattr(route.callback, "model_admin", None)
    if name == "app_label":
        return "integrations"
    if victim is None:
        return f"{MARK}-x"
    if name == "object_id" and model_admin is not None:
        model = model_admin.model
        path = victim.paths.get(model)
        row = model._default_manager.filter(**{path: victim.organization.pk}).first() if path else None
        return str(row.pk) if row else "0"  # a platform-wide table: an entry that does not exist
    sso = victim.organization.sso
    return {"provider_id": sso.provider_id, "organization_slug": sso.slug}.get(name, f"{MARK}-x")


def value_sets(route: Route, world: World) -> list[dict[str, Any]]:
    """Bravo's ids (that Bravo's own admin can address at this route), Bravo's SSO slugs and admin entries."""
    victim = world.victim
    choices: list[list[Any]] = []
    for name, is_int in route.params:
        if is_int:
            choices.append(_ids_for(name, victim.ids()))
        else:
            choices.append([text_value(route, name, victim)])
    combos = [dict(zip([n for n, _ in route.params], c, strict=True)) for c in itertools.product(*choices)]
    if not any(is_int for _, is_int in route.params):
        return combos
    # A method the route does not take answers 405 before looking at the id: it says nothing of the id.
    return [
        c
        for c in combos
        if any(attempt(world.owner, m, route.url(c)).status_code not in {404, 405} for m in ("GET", "POST"))
    ]


def check_response(route: Route, actor: str, method: str, world: World, has_ids: bool) -> Callable[..., None]:
    def check(response: HttpResponse) -> None:
        where = f"{actor} {method} {route.template}"
        content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        text = content.decode(errors="replace").lower()
        assert SECRET_MARK not in text, f"{where} shows one of Bravo's secrets"
        assert "PRIVATE KEY" not in text.upper(), f"{where} shows a private key"
        if route.short_name not in SSO_ROUTES and not (actor == STAFF and route.access == Access.STAFF):
            assert MARK not in content.decode(errors="replace").lower(), f"{where} shows Bravo's data"
            assert MARK not in response.get("Location", "").lower(), f"{where} redirects into Bravo's data"
        assert world.victim.snapshot() == world.baseline, f"{where} changed Bravo's data"
        status = response.status_code
        # 502: Bravo's identity provider is unreachable from the tests, and the page says so.
        unreachable = SSO_ROUTES | (MERGE_ROUTES if actor == ADMIN else set())
        designed = (status == 502 and route.short_name in unreachable) or (
            status == 503 and route.short_name in READINESS_ROUTES
        )
        assert status < 500 or designed, f"{where} crashed"
        if route.is_public:
            return
        if actor == ANONYMOUS:
            assert status == 302 and response["Location"].startswith(LOGIN), f"{where} is not signed-in only"
        elif route.access == Access.STAFF and actor == STAFF and status == 302:
            assert route.name and route.name.startswith("admin:"), f"{where}: {status}"
            assert response["Location"] in STAFF_ADMIN_REDIRECTS, f"{where}: to {response['Location']}"
        elif route.access == Access.STAFF:
            assert status in ({200, 400, 405} if actor == STAFF else {403, 405}), f"{where}: {status}"
        elif route.access in (Access.ADMIN, Access.MEMBER):
            refused = (
                {403, 405} if actor == STAFF or (actor == MEMBER and route.access == Access.ADMIN) else None
            )
            if refused:
                assert status in refused, f"{where} is not refused: {status}"
            elif has_ids:
                assert status in {403, 404, 405}, f"{where} reaches Bravo's object: {status}"

    return check


def test_every_view_of_ours_declares_who_may_use_it() -> None:
    undeclared = [
        r.template
        for r in ROUTES
        if r.callback.__module__.startswith("skillibrium.") and not r.is_public and r.access is None
    ]
    assert undeclared == [], "use member_view, admin_view or staff_view (or login_not_required)"


def test_only_signed_requests_from_elsewhere_skip_csrf() -> None:
    exempt = {r.short_name or r.template for r in ROUTES if getattr(r.callback, "csrf_exempt", False)}
    assert exempt == set(CSRF_EXEMPT)


def test_the_walk_finds_the_routes_it_must() -> None:
    names = {r.short_name for r in ROUTES}
    assert {
        "edit",
        "live",
        "relink_complete",
        "settings_sso",
        "staff_operations",
        "saml_acs",
        "my_org",
    } <= names
    assert {"run_history", "time_zone", "run_detail", "person", "readyz"} <= names
    assert {"index", "integrations_integration_changelist", "integrations_integration_change"} <= names


@pytest.mark.parametrize("route", ROUTES, ids=[r.template for r in ROUTES])
def test_route_keeps_organizations_apart(route: Route, world: World) -> None:
    has_ids = any(is_int for _, is_int in route.params)
    walked = value_sets(route, world)
    assert walked or not has_ids, "Bravo's own admin reaches none of Bravo's ids here: nothing to walk"
    for values in walked:
        url = route.url(values)
        if resolve(url).func is not route.callback:
            continue  # shadowed by an earlier route (accounts/email/ → not offered), walked as that one
        for actor, method in itertools.product(world.clients, ("GET", "POST")):
            attempt(world.clients[actor], method, url, check_response(route, actor, method, world, has_ids))


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access == Access.ADMIN], ids=lambda r: r.template)
def test_admin_routes_refuse_members(route: Route, world: World) -> None:
    member = world.clients[MEMBER]
    values = {name: 1 if is_int else "x" for name, is_int in route.params}
    statuses = {attempt(member, m, route.url(values)).status_code for m in ("GET", "POST")}
    assert 403 in statuses and statuses <= {403, 405}


def test_csrf_is_required_on_every_state_changing_request(world: World) -> None:
    admin = world.clients[ADMIN]
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = admin.cookies
    unprotected = []
    for route in ROUTES:
        if route.short_name in CSRF_EXEMPT:
            continue
        values = {name: 1 if is_int else text_value(route, name) for name, is_int in route.params}
        if attempt(strict, "POST", route.url(values)).status_code not in {403, 405}:
            unprotected.append(route.template)
    assert unprotected == []


def _models_with_tenancy(victim: Victim) -> list[type[models.Model]]:
    return list(victim.paths)


def test_the_victim_has_a_row_in_every_table_of_an_organization(world: World) -> None:
    empty = [
        m._meta.label
        for m in _models_with_tenancy(world.victim)
        if not m._default_manager.filter(**{world.victim.paths[m]: world.victim.organization.pk}).exists()
    ]
    assert empty == []

"""Roles and permissions, in one place.

- Member: signed in with a membership; sees their organization's directory and their own settings.
- Organization admin: a member with the admin role; manages integrations, SSO and sign-in policy.
- Skillibrium staff (`User.is_staff`, no membership needed): read-only operations view across organizations.

Every view resolves the signed-in user's membership first and scopes its queries to that organization; the
decorators below are the server-side check, whatever a page shows or hides. Each marks its view with `access`
so that tests/test_url_walk.py can hold every route, including ones added later, to its declared level.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Concatenate

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_safe

from skillibrium.accounts.models import Membership, User

type MemberView[**P] = Callable[Concatenate[HttpRequest, Membership, P], HttpResponseBase]
type View[**P] = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


class Access(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    STAFF = "staff"


class Capability(StrEnum):
    VIEW_DIRECTORY = "view_directory"
    MANAGE_INTEGRATIONS = "manage_integrations"
    MANAGE_SIGN_IN = "manage_sign_in"
    VIEW_ALL_ORGANIZATIONS = "view_all_organizations"


CAPABILITIES: dict[Access, frozenset[Capability]] = {
    Access.MEMBER: frozenset({Capability.VIEW_DIRECTORY}),
    Access.ADMIN: frozenset(
        {Capability.VIEW_DIRECTORY, Capability.MANAGE_INTEGRATIONS, Capability.MANAGE_SIGN_IN}
    ),
    Access.STAFF: frozenset({Capability.VIEW_ALL_ORGANIZATIONS}),
}


class AdminOnly(PermissionDenied):
    """A member, not an admin, asked for an admin page: the 403 page says who can help."""


class StaffOnly(PermissionDenied):
    """A customer asked for a page only Skillibrium staff may open."""


class NoOrganization(PermissionDenied):
    """The signed-in user belongs to no organization, so there is no organization page to show them."""


def can(membership: Membership | None, capability: Capability) -> bool:
    if membership is None or not membership.user.is_active:
        return False
    return capability in CAPABILITIES[Access.ADMIN if membership.is_admin else Access.MEMBER]


def membership_of(request: HttpRequest) -> Membership:
    user = request.user
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied
    try:
        membership = Membership.objects.select_related("organization", "user").get(user_id=user.pk)
    except Membership.DoesNotExist:
        raise NoOrganization from None
    return membership


def has_authenticator_app(user_id: int) -> bool:
    from allauth.mfa.models import Authenticator

    return bool(Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP).exists())


def needs_mfa_setup(membership: Membership) -> bool:
    """The organization requires its admins to use an authenticator app and this admin has none yet."""
    if not (membership.is_admin and membership.organization.require_admin_mfa):
        return False
    return not has_authenticator_app(membership.user_id)


def signed_in_with_mfa(request: HttpRequest) -> bool:
    """This session's sign-in (or a later re-authentication) included a code from an authenticator app or a
    recovery code, as allauth records it; a password alone, or an app set up after signing in, is not it."""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def member_view[**P](view: MemberView[P]) -> View[P]:
    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        return view(request, membership_of(request), *args, **kwargs)

    wrapper.access = Access.MEMBER  # type: ignore[attr-defined]
    return wrapper


def admin_view[**P](view: MemberView[P]) -> View[P]:
    """Admin-only: checked here on the server, whatever the page shows or hides."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        membership = membership_of(request)
        if not can(membership, Capability.MANAGE_INTEGRATIONS):
            raise AdminOnly
        if needs_mfa_setup(membership):
            messages.warning(
                request,
                f"{membership.organization.name} requires admins to use two-factor authentication. "
                "Set up an authenticator app to continue.",
            )
            return redirect("mfa_activate_totp")
        return view(request, membership, *args, **kwargs)

    wrapper.access = Access.ADMIN  # type: ignore[attr-defined]
    return wrapper


def staff_view[**P](view: View[P]) -> View[P]:
    """Skillibrium staff only, and read-only: support looks, it never changes a customer's data."""

    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not (isinstance(user, User) and user.is_active and user.is_staff):
            raise StaffOnly
        return view(request, *args, **kwargs)

    wrapper.access = Access.STAFF  # type: ignore[attr-defined]
    return wrapper


def staff_action_view[**P](view: View[P]) -> View[P]:
    """Skillibrium staff only, and it may post: for what only staff do, such as creating an organization.
    It never changes an existing customer's data."""

    @require_http_methods(["GET", "HEAD", "POST"])
    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not (isinstance(user, User) and user.is_active and user.is_staff):
            raise StaffOnly
        return view(request, *args, **kwargs)

    wrapper.access = Access.STAFF  # type: ignore[attr-defined]
    return wrapper

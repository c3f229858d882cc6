"""The product's own error pages: each says in a sentence what happened and what to do, with a way back.

They never echo the address asked for nor the exception's message: an id or a slug in the address may be
another organization's, and a 404 must not tell "does not exist" from "belongs to someone else".
"""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import is_valid_path
from django.views.decorators.csrf import requires_csrf_token

from skillibrium.accounts.access import AdminOnly, NoOrganization, StaffOnly
from skillibrium.accounts.models import Membership, Role, User

# Enough names to find someone to ask, few enough to stay a sentence.
ADMINS_NAMED = 3


def admins_to_ask(request: HttpRequest) -> list[str]:
    """The names of the signed-in member's own organization's admins: people they can already see."""
    user = request.user
    membership = Membership.objects.filter(user=user).first() if isinstance(user, User) else None
    if membership is None:
        return []
    admins = (
        Membership.objects.filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .filter(user__is_active=True)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    return [admin.user.display_name for admin in admins[:ADMINS_NAMED]]


def refusal_of(exception: Exception) -> str:
    if isinstance(exception, AdminOnly):
        return "admin_only"
    if isinstance(exception, StaffOnly):
        return "staff_only"
    if isinstance(exception, NoOrganization):
        return "no_organization"
    return "other"


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    refusal = refusal_of(exception)
    admins = admins_to_ask(request) if refusal == "admin_only" else []
    return render(request, "403.html", {"refusal": refusal, "admins": admins}, status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


@requires_csrf_token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's page explains CSRF to developers; people need to know that nothing happened and to retry."""
    return render(request, "403_csrf.html", status=403)


class NotFoundPageInDebug:
    """With DEBUG on (the local demo), a missing page is still the product's 404 rather than Django's
    technical page, so the demo shows what customers see. Off DEBUG, Django calls `page_not_found` itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG and not is_valid_path(request.path_info, getattr(request, "urlconf", None)):
            return page_not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None

"""The staff admin's site: who gets in, and how they sign in.

Only active staff, and only with a second factor: staff without an authenticator app are sent to set one up,
and a session signed in with a password alone is asked for a code (allauth's re-authentication) first. The
admin's own sign-in and password forms are never used; both go through allauth, so neither is a way around
the lockout, SSO policy or the second factor.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from skillibrium.accounts.access import Access, StaffOnly, has_authenticator_app, signed_in_with_mfa
from skillibrium.accounts.models import User

type AdminView = Callable[..., HttpResponseBase]


def refusal(request: HttpRequest) -> HttpResponseBase | None:
    """Why this request may not see the staff admin yet, as the response that says so; None lets it in."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("account_login"))
    if not (isinstance(user, User) and user.is_active and user.is_staff):
        raise StaffOnly
    if not has_authenticator_app(user.pk):
        messages.warning(
            request, "The staff admin needs two-factor authentication. Set up an authenticator app."
        )
        return redirect("mfa_activate_totp")
    if not signed_in_with_mfa(request):
        query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{query}")
    return None


def _mark_staff_routes(patterns: list[URLPattern | URLResolver]) -> None:
    """Declare every route staff-only (accounts/access.py); send anyone signed out to allauth's sign-in."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _mark_staff_routes(pattern.url_patterns)
        elif getattr(pattern.callback, "login_required", True):
            pattern.callback.access = Access.STAFF  # type: ignore[attr-defined]
            pattern.callback.login_url = reverse_lazy("account_login")  # type: ignore[attr-defined]


class StaffAdminSite(admin.AdminSite):
    site_header = "Skillibrium staff admin"
    site_title = "Skillibrium staff admin"
    index_title = "Read-only: look, never change"
    # An address under /staff/admin/ that names nothing is the product's own 404, not a page of this site.
    final_catch_all_view = False

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().each_context(request), "site_url": reverse("staff_operations")}

    def has_permission(self, request: HttpRequest) -> bool:
        try:
            return refusal(request) is None
        except StaffOnly:
            return False

    def admin_view[V: AdminView](self, view: V, cacheable: bool = False) -> V:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = refusal(request)
            if refused is not None:
                return refused
            if request.method not in ("GET", "HEAD") and view != self.logout:
                return HttpResponseNotAllowed(["GET", "HEAD"])  # read-only: nothing here takes a form
            return inner(request, *args, **kwargs)

        return cast(V, gated)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # Nothing here autocompletes or links to the product's pages; passwords change on allauth's page.
        unused = {"autocomplete", "view_on_site", "password_change_done"}
        urls = [u for u in super().get_urls() if getattr(u, "name", None) not in unused]
        _mark_staff_routes(urls)
        return urls

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        return redirect_to_login(next_url, reverse("account_login"))

    def logout(  # type: ignore[override]  # allauth's page, not the admin's template
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("account_logout")

    def password_change(  # type: ignore[override]  # allauth's page, not the admin's template
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("account_change_password")


site = StaffAdminSite()

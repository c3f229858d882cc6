"""Sessions: a person deactivated by provisioning (or by hand) loses every session on their next request, and
a page whose session ended is sent to sign in as a whole page."""

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class EndInactiveSessionsMiddleware:
    """Django already treats an inactive user's session as anonymous; this also deletes it, so that nothing
    stored in it outlives the deactivation and the person lands on the sign-in page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and not request.user.is_authenticated:
            request.session.flush()
        return self.get_response(request)


class SignInAsAPageMiddleware:
    """A page that polls (htmx) outlives its session: the sign-in page it is sent to is opened as the page,
    not swapped into the part that polled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or response.status_code not in (301, 302):
            return response
        sign_in = resolve_url(settings.LOGIN_URL)
        if not response.get("Location", "").startswith(sign_in):
            return response
        # Back to the page after signing in, not to the fragment it polled.
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = page.path + (f"?{page.query}" if page.query else "") if page.path else "/"
        return HttpResponseClientRedirect(f"{sign_in}?{urlencode({'next': back})}")

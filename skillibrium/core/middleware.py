"""A person deactivated by provisioning (or by hand) loses every session on their next request."""

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse


class EndInactiveSessionsMiddleware:
    """Django already treats an inactive user's session as anonymous; this also deletes it, so that nothing
    stored in it outlives the deactivation and the person lands on the sign-in page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and not request.user.is_authenticated:
            request.session.flush()
        return self.get_response(request)

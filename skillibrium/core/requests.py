"""Each request carries an id, from the proxy's `X-Request-ID` when it sends a sane one, else a new one: every
log line written while serving it names it, and the response returns it for the operator's search."""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_current: ContextVar[str] = ContextVar("request_id", default="")
SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def current_request_id() -> str:
    return _current.get()


def request_ids(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if SANE.fullmatch(offered) else uuid.uuid4().hex
        # Not reset on the way out: Django logs the response (a 4xx, a 5xx) after the middleware has returned,
        # and each request runs in a context of its own.
        _current.set(request_id)
        response = get_response(request)
        response["X-Request-ID"] = request_id
        return response

    return middleware


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each log record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True

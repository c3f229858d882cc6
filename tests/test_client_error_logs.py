"""A refused request (403, 400) is logged in one line; a server error keeps its traceback."""

import io
import logging
import sys
from collections.abc import Callable
from typing import TextIO

import pytest
from django.test import Client
from django.urls import reverse

from .factories import make_org, make_user, signed_in

pytestmark = pytest.mark.django_db


class Attached(logging.Handler):
    """What Django attaches to its record, seen before the console handler's filters."""

    def __init__(self) -> None:
        super().__init__()
        self.exceptions: list[object] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.exceptions.append(record.exc_info)


def console_handler() -> logging.StreamHandler[TextIO]:
    return next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))


def logged_while(request: Callable[[], object]) -> tuple[list[object], list[str]]:
    """The exceptions Django attached to its records, and the lines the console handler wrote."""
    attached, written = Attached(), io.StringIO()
    logging.getLogger("django").addHandler(attached)  # its handlers run before the root's console
    stream = console_handler().setStream(written)
    try:
        request()
    finally:
        console_handler().setStream(stream)
        logging.getLogger("django").removeHandler(attached)
    return attached.exceptions, written.getvalue().splitlines()


def test_a_member_refused_an_admin_page_is_one_warning_line_without_a_traceback() -> None:
    member = signed_in(make_user(make_org("Alpha")))

    attached, logged = logged_while(lambda: member.get(reverse("integrations:hris_settings")))

    assert len(attached) == 1 and attached[0] is not None
    assert len(logged) == 1
    assert logged[0].endswith(" WARNING django.request Forbidden (Permission denied): /my-org/hris/")


def test_a_host_we_do_not_serve_is_one_line_without_a_traceback() -> None:
    attached, logged = logged_while(lambda: Client().get("/", HTTP_HOST="elsewhere.invalid"))

    assert len(attached) == 1 and attached[0] is not None
    assert len(logged) == 1
    assert " ERROR django.security.DisallowedHost Invalid HTTP_HOST header: 'elsewhere.invalid'." in logged[0]


def test_a_server_error_keeps_its_traceback() -> None:
    console = console_handler()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", (), None
        )
        record.exc_info = sys.exc_info()
    record.status_code = 500

    assert console.filter(record)
    assert "Traceback (most recent call last)" in console.format(record)

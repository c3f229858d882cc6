"""What reaches the log: one line per event, a traceback only where there is something of ours to read."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """Django logs a 4xx raised as an exception (a 403 for a member on an admin page, a 404, a 400 for a
    host we do not serve) with its traceback; the request was refused as designed, so one line says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = record.exc_text = None
        return True


class WarningsAndAbove(logging.Filter):
    """The task worker raises `django.tasks` to INFO on start (a line per task state, three per email sent);
    this keeps that logger at the level the settings give it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING

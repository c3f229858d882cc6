"""Production logs are one JSON object per line: a run's start and finish with its counts, each health
transition and each webhook are events with fields of their own, and every line written while serving a
request names that request's id. Error reports sent to Sentry are scrubbed by the rules of the error pages."""

import json
import logging

import pytest
from django.conf import settings
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from skillibrium.core.diagnostics import MASK, scrub_error_report
from skillibrium.core.requests import RequestIdFilter
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.sync.models import PROGRESS_FIELDS, RunStatus, SyncRun

from .factories import make_integration, make_org

pytestmark = pytest.mark.django_db


def as_json(record: logging.LogRecord) -> dict[str, object]:
    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    if not hasattr(record, "request_id"):
        RequestIdFilter().filter(record)
    return dict(json.loads(JsonFormatter(**options).format(record)))


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    return [as_json(r) for r in caplog.records if getattr(r, "event", None) == name]


def test_a_run_finishing_is_one_event_with_its_counts(caplog: pytest.LogCaptureFixture) -> None:
    integration = make_integration(make_org())
    run = SyncRun.objects.create(integration=integration, trigger=Trigger.SCHEDULE, created=3, updated=2)
    with caplog.at_level(logging.INFO):
        run.finish(RunStatus.SUCCEEDED)

    (event,) = events(caplog, "sync_run_finished")
    assert event["run_id"] == run.pk and event["integration_id"] == integration.pk
    assert event["status"] == "succeeded" and event["trigger"] == "schedule"
    assert event["counts"] == {name: getattr(run, name) for name in PROGRESS_FIELDS}
    assert {"time", "level", "logger", "message", "request_id"} <= event.keys()


def test_a_health_transition_is_one_event(caplog: pytest.LogCaptureFixture) -> None:
    integration = make_integration(make_org())
    with caplog.at_level(logging.INFO):
        integration.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET)
        integration.set_health(Health.RELINK_NEEDED, Cause.PASSWORD_RESET)  # no transition, no event

    (event,) = events(caplog, "health_changed")
    assert (event["from_health"], event["to_health"], event["cause"]) == (
        "healthy",
        "relink_needed",
        "password_reset",
    )


def test_each_request_has_an_id_in_its_log_lines_and_response(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())  # as the console handler has it: when the line is written
    with caplog.at_level(logging.WARNING, logger="django.request"):
        given = client.get("/no-such-page/", headers={"X-Request-ID": "proxy-id-12345678"})
        made = client.get("/no-such-page/", headers={"X-Request-ID": "bad id\nwith a newline"})

    assert given["X-Request-ID"] == "proxy-id-12345678"
    assert len(made["X-Request-ID"]) == 32 and "\n" not in made["X-Request-ID"]
    ids = [as_json(r)["request_id"] for r in caplog.records if r.name == "django.request"]
    assert ids == ["proxy-id-12345678", made["X-Request-ID"]]


def test_error_reports_are_scrubbed(settings: object) -> None:
    key = settings.MERGE_API_KEY  # type: ignore[attr-defined]
    event = {
        "request": {
            "headers": [["Authorization", "Bearer abcdefghijkl"], ["X-Account-Token", "account-token-value"]],
            "cookies": {"sessionid": "s3ss10n", "csrftoken": "c5rf"},
            "data": {"password": "hunter22", "note": f"the key is {key}"},
        },
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"api_key": key, "n": 3}}]}}]},
        "breadcrumbs": {"values": [{"message": "called with Bearer zyxwvutsrqpo"}]},
    }

    scrubbed = json.dumps(scrub_error_report(event))

    for secret in (key, "abcdefghijkl", "account-token-value", "s3ss10n", "c5rf", "hunter22", "zyxwvutsrqpo"):
        assert secret not in scrubbed
    assert MASK in scrubbed and '"n": 3' in scrubbed

"""Issue, "one home for each transition", tests: the watermark an incremental read starts from next time,
decided without a sandbox: the newest stamp seen, held back while Merge is still writing."""

import datetime as dt
from typing import Any

import httpx
import pytest
from pytest_django.fixtures import Settings

from skillibrium.integrations.choices import Category
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeClient, Transient
from skillibrium.sync.merge_status import merge_sync_in_progress_since, next_watermark

# The client counts failed requests in the database, for the whole fleet (merge_client/budget.py).
pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("newest", "ceiling", "expected"),
    [
        (None, None, None),
        (NOON, None, NOON),
        (None, NOON, None),  # nothing seen yet: the next read is a full one either way
        (NOON, NOON + dt.timedelta(hours=1), NOON),
        (NOON, NOON, NOON - dt.timedelta(seconds=1)),
        (NOON + dt.timedelta(hours=1), NOON, NOON - dt.timedelta(seconds=1)),
    ],
)
def test_the_watermark_never_passes_the_start_of_a_merge_sync_in_progress(
    newest: dt.datetime | None, ceiling: dt.datetime | None, expected: dt.datetime | None
) -> None:
    assert next_watermark(newest, ceiling) == expected


def merge_answering(*pages: list[dict[str, Any]], status: int = 200) -> MergeClient:
    """A client whose Merge answers `sync-status` with these pages, linked by cursors."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/sync-status")
        index = int(request.url.params.get("cursor", "0"))
        following = str(index + 1) if index + 1 < len(pages) else None
        return httpx.Response(status, json={"results": pages[index], "next": following})

    return MergeClient(
        category=Category.HRIS,
        account_token="token",
        account_id="account",
        transport=httpx.MockTransport(answer),
    )


def status(model: str, state: str, started: dt.datetime | None) -> dict[str, Any]:
    return {"model_id": model, "status": state, "last_sync_start": started.isoformat() if started else None}


def since(client: MergeClient, category: Category = Category.HRIS) -> dt.datetime | None:
    return merge_sync_in_progress_since(client, Integration(category=category))


def test_the_earliest_start_among_the_synced_models_still_syncing_is_the_ceiling() -> None:
    client = merge_answering(
        [
            status("hris.Employee", "SYNCING", NOON),
            status("hris.Location", "SYNCING", NOON - dt.timedelta(1)),
        ],
        [status("hris.Employment", "SYNCING", NOON - dt.timedelta(minutes=5))],
    )

    assert since(client) == NOON - dt.timedelta(minutes=5)


def test_models_that_are_done_or_not_read_set_no_ceiling() -> None:
    client = merge_answering(
        [
            status("hris.Employee", "DONE", NOON),
            status("hris.Employment", "FAILED", NOON),
            status("hris.Team", "SYNCING", NOON),
            status("crm.User", "SYNCING", NOON),
            status("hris.Employee", "SYNCING", None),  # a sync without a start stamp says nothing
        ]
    )

    assert since(client) is None


def test_a_crm_account_follows_its_users_model() -> None:
    client = merge_answering([status("crm.User", "SYNCING", NOON), status("hris.Employee", "SYNCING", NOON)])

    assert since(client, Category.CRM) == NOON


def test_when_merge_cannot_say_the_run_fails_rather_than_guess(settings: Settings) -> None:
    settings.MERGE_RETRY_ATTEMPTS = 1

    with pytest.raises(Transient):
        since(merge_answering([], status=503))

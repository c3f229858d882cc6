"""Webhook delivery: signatures, Merge's retry rules, and injected delivery failures."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import Sandbox, signature_of


def _quiet(sandbox: Sandbox) -> None:
    """Wait until nothing is queued, so the receiver's scripted answers meet this test's delivery."""
    deadline = time.monotonic() + 10
    while sandbox.control("GET", "/_sandbox/webhooks?state=pending")["results"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _deliveries(sandbox: Sandbox, account_id: str, done: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        found: list[dict[str, Any]] = sandbox.control(
            "GET", f"/_sandbox/webhooks?event=Issue.new&linked_account_id={account_id}"
        )["results"]
        if found and len([d for d in found if d["state"] != "pending"]) >= done:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def _issue(sandbox: Sandbox, account_id: str) -> None:
    sandbox.control("POST", "/_sandbox/issues", {"linked_account_id": account_id}, 201)


@pytest.fixture
def account(faults_cleared: Sandbox) -> dict[str, str]:
    created = faults_cleared.link(faults_cleared.tenant(size=3))
    _quiet(faults_cleared)
    return created


@pytest.mark.parametrize(
    ("answers", "state", "attempts"),
    [
        ([500, 500, 500], "failed", 3),
        ([503, 200], "delivered", 2),
        ([410], "failed", 1),
        ([200], "delivered", 1),
    ],
)
def test_retries_follow_merge(
    faults_cleared: Sandbox, account: dict[str, str], answers: list[int], state: str, attempts: int
) -> None:
    faults_cleared.receiver.statuses.extend(answers)
    _issue(faults_cleared, account["id"])
    [delivery] = _deliveries(faults_cleared, account["id"], 1)
    assert (delivery["state"], delivery["attempts"]) == (state, attempts)
    assert [r["status_code"] for r in delivery["responses"]] == answers[:attempts]
    faults_cleared.receiver.statuses.clear()


def test_signature_is_unpadded_base64url_hmac_of_the_raw_body(
    faults_cleared: Sandbox, account: dict[str, str]
) -> None:
    _issue(faults_cleared, account["id"])
    faults_cleared.receiver.wait_for(account["id"], "Issue.new")
    raw = [r for r in faults_cleared.receiver.received if r["body"]["hook"]["event"] == "Issue.new"][-1]
    assert raw["signature"] == signature_of(raw["raw"]) and "=" not in raw["signature"]
    assert set(raw["body"]) == {"hook", "linked_account", "data"}


@pytest.mark.parametrize(
    ("fault", "received", "state"), [("drop", 0, "dropped"), ("duplicate", 2, "delivered")]
)
def test_delivery_faults(
    faults_cleared: Sandbox, account: dict[str, str], fault: str, received: int, state: str
) -> None:
    faults_cleared.control("PUT", "/_sandbox/faults", {"webhook_fault": fault, "webhook_fault_remaining": 1})
    _issue(faults_cleared, account["id"])
    deliveries = _deliveries(faults_cleared, account["id"], received or 1)
    assert {d["state"] for d in deliveries} == {state} and {d["fault"] for d in deliveries} == {fault}
    # The delivery is final (dropped, or delivered twice): what reached the receiver is all there will be.
    if received:
        faults_cleared.receiver.wait_for(account["id"], "Issue.new", count=received)
    assert len(faults_cleared.receiver.events(account["id"], "Issue.new")) == received


def test_delayed_delivery_arrives_late(faults_cleared: Sandbox, account: dict[str, str]) -> None:
    faults_cleared.control(
        "PUT",
        "/_sandbox/faults",
        {"webhook_fault": "delay", "webhook_fault_remaining": 1, "webhook_delay_seconds": 1.0},
    )
    started = time.monotonic()
    _issue(faults_cleared, account["id"])
    faults_cleared.receiver.wait_for(account["id"], "Issue.new")
    assert time.monotonic() - started >= 0.9


def test_an_answer_slower_than_the_timeout_is_retried(
    faults_cleared: Sandbox, account: dict[str, str]
) -> None:
    faults_cleared.control("PUT", "/_sandbox/config", {"webhook_timeout": 0.5})
    try:
        faults_cleared.receiver.delays.append(1.0)
        _issue(faults_cleared, account["id"])
        [delivery] = _deliveries(faults_cleared, account["id"], 1)
    finally:
        faults_cleared.control("PUT", "/_sandbox/config", {"webhook_timeout": 5})
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 2)
    assert delivery["responses"][0]["error"] == "ReadTimeout"

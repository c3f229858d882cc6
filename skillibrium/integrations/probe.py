"""Test connection: ask Merge about one linked account (its details, its open issues, one record) and say in
plain words what it found. Health moves only on a definite answer (Merge says the account needs a relink, is
gone, or works again), through the transitions of health.py and relink.py; an outage or our own key refused
says nothing about the customer's connection and changes nothing of it."""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from skillibrium.merge_client import (
    AccountDetails,
    AccountGone,
    BackingOff,
    MergeClient,
    MergeError,
    Misconfigured,
    RateLimited,
    RelinkNeeded,
    Transient,
)

from . import health
from . import issues as open_issues
from .causes import classify, explain
from .choices import Category, Cause, Health
from .models import Integration, PlatformIncident, client_for
from .relink import mark_relinked

logger = logging.getLogger(__name__)

# The one-record read: what a sync reads first, in the category's words.
SAMPLES = {Category.HRIS: ("employees", "employee"), Category.CRM: ("users", "user")}


class Verdict(models.TextChoices):
    WORKS = "works", "Works"
    PROBLEM_REPORTED = "problem_reported", "Works, with a problem Merge reports"
    RELINK_NEEDED = "relink_needed", "Relink needed"
    ACCOUNT_GONE = "account_gone", "Linked account gone"
    MERGE_UNREACHABLE = "merge_unreachable", "Merge.dev unreachable"
    API_KEY_REFUSED = "api_key_refused", "Skillibrium's API key refused"
    UNCLEAR = "unclear", "No clear answer"


@dataclass(frozen=True)
class Check:
    """One question put to Merge; `passed` is None when it was not asked (an earlier answer settled it)."""

    question: str
    passed: bool | None
    answer: str


@dataclass(frozen=True)
class ProbeResult:
    verdict: Verdict
    summary: str
    checks: list[Check]
    cause: Cause = Cause.NONE
    health_before: str = ""
    health_after: str = ""

    @property
    def health_changed(self) -> bool:
        return self.health_before != self.health_after

    @property
    def health_change(self) -> str:
        return f"{Health(self.health_before).label} → {Health(self.health_after).label}"


@dataclass
class _Findings:
    details: AccountDetails | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)
    sampled: int | None = None  # records in the one-record read
    checks: list[Check] = field(default_factory=list)


def try_connection(integration: Integration) -> ProbeResult:
    """Ask Merge, decide, and move health if (and only if) the answer is definite."""
    before = integration.health
    if PlatformIncident.api_key_rejected():
        # While Merge refuses our key every request would only fail, and add to the fleet's failures.
        not_asked = _unasked(integration, [], "Not asked: Merge is refusing Skillibrium's API key just now.")
        return _result(integration, Verdict.API_KEY_REFUSED, health.API_KEY_REFUSED, not_asked, before)
    found = _Findings()
    with client_for(integration) as client:
        client.attempts = 1  # an admin waits for the answer: one try, and they can click again
        try:
            _ask(client, integration, found)
        except MergeError as error:
            return _failed(integration, found, error, before)
    return _decide(integration, found, before)


def _ask(client: MergeClient, integration: Integration, found: _Findings) -> None:
    found.details = client.account_details()
    found.checks.append(
        Check("Linked account", found.details.status == "COMPLETE", _described(found.details))
    )
    found.issues = client.ongoing_issues(integration.merge_account_id)
    found.checks.append(Check("Open issues at Merge.dev", not found.issues, _issues_said(found.issues)))
    path, _ = SAMPLES[Category(integration.category)]
    page = next(client.pages(path, {"page_size": "1"}))
    found.sampled = len(page)
    found.checks.append(Check(_questions(integration)[2], True, _sample_said(integration, found)))


def _decide(integration: Integration, found: _Findings, before: str) -> ProbeResult:
    assert found.details is not None
    texts = [str(i.get("error_description") or "") for i in found.issues]
    detail = "; ".join(t for t in [*texts, found.details.status_detail] if t)
    if found.details.status == "RELINK_NEEDED":
        _remember_issues(integration, found.issues)
        return _failed(integration, found, RelinkNeeded(detail or "Relink needed"), before)
    if found.details.status != "COMPLETE" or found.issues:
        cause = classify(detail)
        what = cause.label.lower() if cause != Cause.OTHER else detail or _described(found.details)
        summary = (
            f"The connection answers, and Merge.dev reports a problem: {what}. This test does not change "
            "the status shown here: Merge keeps an issue open for a day after its last failure, and the next "
            "sync takes it into account."
        )
        return _result(integration, Verdict.PROBLEM_REPORTED, summary, found.checks, before, cause)
    summary = f"Merge.dev reaches {integration.provider_name}, and its data can be read."
    # Merge's own word that the account works: relinked elsewhere (a magic link, Merge's dashboard).
    if integration.health == Health.RELINK_NEEDED and mark_relinked(
        integration=integration, detected_by="test_connection"
    ):
        summary += " It had been relinked outside Skillibrium; a catch-up sync has started."
    return _result(integration, Verdict.WORKS, summary, found.checks, before)


def _failed(integration: Integration, found: _Findings, error: MergeError, before: str) -> ProbeResult:
    """What a refusal or an outage means, and the health transition when the answer is definite."""
    checks = _unasked(integration, found.checks, "Not asked: the answer before settled it.", error)
    if isinstance(error, Misconfigured):  # the client opened the platform incident as Merge answered
        return _result(integration, Verdict.API_KEY_REFUSED, health.API_KEY_REFUSED, checks, before)
    if isinstance(error, Transient | RateLimited | BackingOff):
        summary = (
            f"No answer from Merge.dev just now ({error}). That says nothing about your connection, "
            "and its status is unchanged. Try again in a few minutes."
        )
        return _result(integration, Verdict.MERGE_UNREACHABLE, summary, checks, before, Cause.MERGE_OUTAGE)
    if isinstance(error, RelinkNeeded | AccountGone):
        health.record_failure(integration, error)
        gone = isinstance(error, AccountGone)
        cause = Cause(integration.cause)
        explanation = explain(cause)
        summary = f"{cause.label}. {explanation.what_to_do if explanation else ''}".strip()
        verdict = Verdict.ACCOUNT_GONE if gone else Verdict.RELINK_NEEDED
        return _result(integration, verdict, summary, checks, before, cause)
    summary = (
        f"Merge.dev answered something Skillibrium did not expect ({error}), which says nothing certain "
        "about your connection: its status is unchanged. If it happens again, contact support."
    )
    return _result(integration, Verdict.UNCLEAR, summary, checks, before)


def _result(
    integration: Integration,
    verdict: Verdict,
    summary: str,
    checks: list[Check],
    before: str,
    cause: Cause = Cause.NONE,
) -> ProbeResult:
    integration.refresh_from_db()
    logger.info("integration %s: connection tested: %s", integration.pk, verdict.value)
    return ProbeResult(verdict, summary, checks, cause, before, integration.health)


def _questions(integration: Integration) -> list[str]:
    _, noun = SAMPLES[Category(integration.category)]
    return ["Linked account", "Open issues at Merge.dev", f"Reading one {noun}"]


def _unasked(
    integration: Integration, asked: list[Check], why: str, error: MergeError | None = None
) -> list[Check]:
    """Every question once: those answered, the one Merge refused or did not answer, the rest not asked."""
    rest = _questions(integration)[len(asked) :]
    if error is not None and rest:
        failed = Check(rest.pop(0), False, health.for_admins(error))
        asked = [*asked, failed]
    return [*asked, *(Check(question, None, why) for question in rest)]


def _described(details: AccountDetails) -> str:
    said = {
        "COMPLETE": "complete: linked and syncing",
        "RELINK_NEEDED": "in need of a relink",
        "INCOMPLETE": "incomplete: the link was not finished",
        "IDLE": "idle",
    }.get(details.status, f"in status {details.status or 'unknown'}")
    extra = f" ({details.status_detail})" if details.status_detail else ""
    return f"Merge knows linked account {details.account_id} and says it is {said}{extra}."


def _issues_said(issues: list[dict[str, Any]]) -> str:
    if not issues:
        return "Merge reports no open issues for this account."
    texts = "; ".join(str(i.get("error_description") or "no description") for i in issues)
    return f"Merge reports {len(issues)} open issue{'s' if len(issues) != 1 else ''}: {texts}."


def _sample_said(integration: Integration, found: _Findings) -> str:
    _, noun = SAMPLES[Category(integration.category)]
    if not found.sampled:
        return f"Merge answered, with no {noun}s for this account yet."
    if found.details is not None and found.details.status == "RELINK_NEEDED":
        return f"Merge still serves the {noun}s it read before, but no longer updates them until a relink."
    return f"Skillibrium read one {noun} from Merge."


def _remember_issues(integration: Integration, issues: list[dict[str, Any]]) -> None:
    """The issues that name the cause, shown on the Edit page as a sync would show them."""
    open_issues.remember(integration, issues)

"""The open issues Merge reports for a linked account, as the Edit page lists them: refreshed by every sync,
test and relink, and an issue Merge resolves leaves the list as soon as Merge says so."""

import logging
from typing import Any

from skillibrium.merge_client import MergeClient, MergeError

from .models import Integration

logger = logging.getLogger(__name__)

SHOWN = ("id", "error_description", "first_incident_time", "last_incident_time")


def remember(integration: Integration, issues: list[dict[str, Any]]) -> None:
    seen = [{k: issue.get(k) for k in SHOWN} for issue in issues if issue.get("status") != "RESOLVED"]
    if seen != integration.merge_issues:
        integration.merge_issues = seen
        integration.save(update_fields=["merge_issues"])


def forget(integration: Integration, issue_id: str) -> None:
    """Merge resolved this issue (its Issue.resolved webhook)."""
    remember(integration, [i for i in integration.merge_issues if str(i.get("id")) != issue_id])


def refresh(integration: Integration) -> None:
    """Ask Merge's Issues API again (after a relink, which resolves every issue at once). Unanswered, the
    list stays until the next sync asks."""
    try:
        with MergeClient(category=integration.category) as client:
            ongoing = client.ongoing_issues(integration.merge_account_id)
    except MergeError as error:
        logger.info("integration %s: open issues not refreshed: %s", integration.pk, error)
        return
    remember(integration, ongoing)

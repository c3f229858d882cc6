"""Disconnect: stop syncing at once, and have Merge delete the linked account, asking again until it has."""

import logging

from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.merge_client import AccountGone, MergeError

from .choices import Cause, Health
from .health import for_admins
from .models import Integration, client_for

logger = logging.getLogger(__name__)


def disconnect(*, integration: Integration, by: User) -> str:
    """Returns "" when Merge confirmed the deletion, else why not (the deletion stays pending). The directory
    and every user stay as they are: no sync runs, so nobody is deactivated, and nobody is asked to relink."""
    integration.set_health(Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN, f"Disconnected by {by.email}.")
    integration.merge_deletion_requested_at = integration.disconnected_at = timezone.now()
    integration.disconnected_by = by
    integration.save(update_fields=["merge_deletion_requested_at", "disconnected_at", "disconnected_by"])
    return delete_at_merge(integration)


def finish_pending_deletions() -> int:
    """Ask Merge again for every deletion it has not confirmed; returns how many are still pending."""
    pending = Integration.objects.filter(merge_deletion_requested_at__isnull=False)
    left = 0
    for integration in pending:
        if (integration.health, integration.cause) != (Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN):
            # Connected again since (the same linked account, relinked): it must not be deleted now.
            _confirmed(integration)
        elif delete_at_merge(integration):
            left += 1
    return left


def delete_at_merge(integration: Integration) -> str:
    """Merge's word, not its status code: the deletion counts once Merge no longer lists the account."""
    try:
        with client_for(integration) as client:
            client.delete_account()
            if client.is_listed():
                return "Merge answered, but still lists the linked account."
    except AccountGone:
        pass  # Merge no longer lists it: deleted already
    except MergeError as error:
        logger.warning("integration %s: Merge did not delete the linked account: %s", integration.pk, error)
        return for_admins(error)
    _confirmed(integration)
    return ""


def _confirmed(integration: Integration) -> None:
    integration.merge_deletion_requested_at = None
    integration.save(update_fields=["merge_deletion_requested_at"])

"""Disconnect: stop syncing at once, and have Merge delete the linked account, asking again until it has.
Linked accounts retired by a vendor switch (the one replaced, or a replacement declined) are deleted the same
way."""

import logging

from django.utils import timezone

from skillibrium.accounts.models import User
from skillibrium.merge_client import AccountGone, MergeClient, MergeError

from .choices import Cause, Health
from .health import for_admins
from .models import Integration, Replacement, RetiredAccount, client_for

logger = logging.getLogger(__name__)


def disconnect(*, integration: Integration, by: User) -> str:
    """Returns "" when Merge confirmed the deletion, else why not (the deletion stays pending). The directory
    and every user stay as they are: no sync runs, so nobody is deactivated, and nobody is asked to relink."""
    integration.set_health(Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN, f"Disconnected by {by.email}.")
    integration.merge_deletion_requested_at = integration.disconnected_at = timezone.now()
    integration.disconnected_by = by
    integration.save(update_fields=["merge_deletion_requested_at", "disconnected_at", "disconnected_by"])
    replacement = Replacement.objects.filter(integration=integration).first()
    retired = retire_replacement(replacement) if replacement else None
    if retired:
        delete_retired(retired)
    return delete_at_merge(integration)


def finish_pending_deletions() -> int:
    """Ask Merge again for every deletion it has not confirmed; returns how many are still pending."""
    pending = Integration.objects.filter(merge_deletion_requested_at__isnull=False)
    left = sum(1 for retired in RetiredAccount.objects.all() if delete_retired(retired))
    for integration in pending:
        if (integration.health, integration.cause) != (Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN):
            # Connected again since (the same linked account, relinked): it must not be deleted now.
            _confirmed(integration)
        elif delete_at_merge(integration):
            left += 1
    return left


def delete_at_merge(integration: Integration) -> str:
    why = _delete(client_for(integration), f"integration {integration.pk}")
    if not why:
        _confirmed(integration)
    return why


def retire(
    *, organization_id: int, category: str, account_id: str, account_token: str, provider_name: str
) -> RetiredAccount:
    """A linked account no integration uses any more, to be deleted at Merge (`delete_retired`, once the
    transaction that retired it has committed)."""
    return RetiredAccount.objects.create(
        organization_id=organization_id,
        category=category,
        merge_account_id=account_id,
        account_token=account_token,
        provider_name=provider_name,
    )


def retire_replacement(replacement: Replacement) -> RetiredAccount | None:
    """A replacement no longer wanted (declined, or its integration disconnected): gone, and its linked
    account, if Merge Link made one, retired."""
    retired = None
    if replacement.merge_account_id:
        retired = retire(
            organization_id=replacement.integration.organization_id,
            category=replacement.integration.category,
            account_id=replacement.merge_account_id,
            account_token=replacement.account_token,
            provider_name=replacement.provider_name,
        )
    replacement.delete()
    return retired


def delete_retired(retired: RetiredAccount) -> str:
    """Returns "" when Merge confirmed the deletion (the retired account is then forgotten), else why not."""
    why = _delete(retired.client(), f"retired account {retired.pk}")
    if not why:
        retired.delete()
    return why


def _delete(client: MergeClient, what: str) -> str:
    """Merge's word, not its status code: the deletion counts once Merge no longer lists the account."""
    try:
        with client:
            client.delete_account()
            if client.is_listed():
                return "Merge answered, but still lists the linked account."
    except AccountGone:
        pass  # Merge no longer lists it: deleted already
    except MergeError as error:
        logger.warning("%s: Merge did not delete the linked account: %s", what, error)
        return for_admins(error)
    return ""


def _confirmed(integration: Integration) -> None:
    integration.merge_deletion_requested_at = None
    integration.save(update_fields=["merge_deletion_requested_at"])

"""Switching vendor, keeping people: another HRIS (or CRM) linked beside the current one, read in full and
reviewed before anything changes, then taken over by the integration.

`start` opens Merge Link for a replacement, `add` keeps the account Merge Link made and has it read (the
preview, sync/preview.py, writes nothing to the directory), then an admin confirms or declines. Confirming
gives each person matched by the review the new account's record, moves the integration to the new account
(its old records no longer speak for anyone: people only the old source knew stay as they are, never
deactivated for their absence), and deletes the old account at Merge; declining deletes the new one.
"""

import secrets

from django.db import transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership
from skillibrium.core.bulk import insert_rows
from skillibrium.core.models import record
from skillibrium.directory.models import Person, SourceIdentity
from skillibrium.merge_client import LinkedAccountToken, MergeClient

from .choices import Category, Health, ReviewState, Trigger
from .disconnect import delete_retired, retire, retire_replacement
from .models import Integration, Replacement, ReplacementMatch, ReplacementState
from .relink import account_fields, join_by_work_email, new_account_fields, request_sync, start_link


class SwitchRefused(Exception):
    """What the admin asked for cannot be done now; the message says why, in plain words."""


def replacement_of(integration: Integration) -> Replacement | None:
    return Replacement.objects.filter(integration=integration).select_related("linked_by").first()


def can_replace(integration: Integration) -> bool:
    """A connection in use: not one disconnected on purpose (connect again instead), nor one whose own first
    sync waits for its review."""
    return not integration.disconnected_on_purpose and not integration.awaiting_review


def start(*, integration: Integration, membership: Membership) -> str:
    """A link token for a replacement. Merge holds one linked account per origin id and category, and the
    organization's id holds the current account: the replacement has an origin id of its own."""
    if not can_replace(integration):
        raise SwitchRefused(f"{integration.provider_name} cannot be replaced while it is not in use.")
    replacement, _ = Replacement.objects.get_or_create(
        integration=integration,
        defaults={"origin_id": f"{integration.organization.merge_origin_id}-{secrets.token_hex(6)}"},
    )
    if replacement.state != ReplacementState.LINKING:
        raise SwitchRefused(
            f"{replacement.provider_name} is already linked to replace {integration.provider_name}: "
            "review the switch, or decline it to link another."
        )
    return start_link(
        organization=integration.organization,
        category=integration.category,
        email=membership.user.email,
        origin_id=replacement.origin_id,
    )


def add(*, integration: Integration, public_token: str, membership: Membership) -> Replacement:
    """Keep the account Merge Link made for the replacement; the caller has it read (`preview`)."""
    replacement = Replacement.objects.filter(integration=integration).first()
    if replacement is None or replacement.state != ReplacementState.LINKING:
        raise SwitchRefused("No replacement is being linked: start again from Replace.")
    with MergeClient(category=integration.category) as client:
        linked = client.exchange_public_token(public_token)
    if linked.account_id == integration.merge_account_id:
        raise SwitchRefused(f"Merge linked the current {integration.provider_name} account again.")
    with transaction.atomic():
        current = Replacement.objects.select_for_update().get(pk=replacement.pk)
        if current.state != ReplacementState.LINKING:
            raise SwitchRefused("The replacement was linked already.")
        current.provider_slug, current.provider_name = linked.provider_slug, linked.provider_name
        current.merge_account_id, current.account_token = linked.account_id, linked.account_token
        current.linked_at, current.linked_by = timezone.now(), membership.user
        current.state = ReplacementState.READING
        current.save()
        record(
            organization_id=integration.organization_id,
            actor_id=membership.user_id,
            action="integration.replacement_linked",
            target=str(integration),
            replacement=linked.provider_name,
            account=linked.account_id,
        )
    return current


def read_again(replacement: Replacement) -> bool:
    """After a read that failed, or to see the new source as it is now. Returns whether it was asked."""
    asked = Replacement.objects.filter(
        pk=replacement.pk, state__in=[ReplacementState.READY, ReplacementState.FAILED]
    ).update(state=ReplacementState.READING, error="")
    return bool(asked)


def confirm(*, integration: Integration, membership: Membership | None) -> bool:
    """Switch: under the integration's lock, so that a second confirm (a double click, another admin) finds
    nothing to do (False). The new account's first sync runs at once; the old account is deleted at Merge
    once this has committed (asked again on a schedule if Merge does not confirm it)."""
    with transaction.atomic():
        current = (
            Integration.objects.select_for_update().select_related("organization").get(pk=integration.pk)
        )
        replacement = (
            Replacement.objects.select_for_update()
            .filter(integration=current, state=ReplacementState.READY)
            .first()
        )
        if replacement is None:
            return False
        old = {"provider": current.provider_name, "account": current.merge_account_id}
        retired = retire(
            organization_id=current.organization_id,
            category=current.category,
            account_id=current.merge_account_id,
            account_token=current.account_token,
            provider_name=current.provider_name,
        )
        linked = LinkedAccountToken(
            account_id=replacement.merge_account_id,
            account_token=replacement.account_token,
            provider_name=replacement.provider_name,
            provider_slug=replacement.provider_slug,
        )
        fields = account_fields(linked, linked_by=replacement.linked_by, origin_id=replacement.origin_id)
        # The switch's review was this account's first-sync review.
        fields |= new_account_fields(rekey_from="", review=ReviewState.CONFIRMED)
        fields |= {"reviewed_at": timezone.now(), "reviewed_by": membership.user if membership else None}
        for name, value in fields.items():
            setattr(current, name, value)
        current.save()
        join_by_work_email(current)
        matched = _give_matched_records(current, replacement)
        current.set_health(Health.HEALTHY, detail=f"Switched from {old['provider']}.")
        summary = replacement.summary or {}
        record(
            organization_id=current.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.switched",
            target=str(current),
            from_provider=old["provider"],
            from_account=old["account"],
            to_provider=replacement.provider_name,
            to_account=replacement.merge_account_id,
            matched=matched,
            new=summary.get("new", 0),
            only_in_old=summary.get("only_in_old", 0),
        )
        replacement.delete()
        request_sync(current, Trigger.SETUP, by=membership.user_id if membership else None)
    delete_retired(retired)
    integration.refresh_from_db()
    return True


def _give_matched_records(integration: Integration, replacement: Replacement) -> int:
    """Each person the review matched gets the new account's record: the first sync updates them (an empty
    digest reads as changed) instead of joining records to people again by its own rules."""
    matches = ReplacementMatch.objects.filter(replacement=replacement).values_list(
        "person_id", "merge_id", "remote_id"
    )
    rows = [(integration.pk, person, merge_id, remote_id, "") for person, merge_id, remote_id in matches]
    insert_rows(SourceIdentity, ["integration", "person", "merge_id", "remote_id", "digest"], rows)
    if integration.category == Category.HRIS:
        # The HRIS is authoritative: a person the CRM alone knew is now shown, and decided, by the HRIS.
        Person.objects.filter(pk__in=[person for _, person, *_ in rows]).update(source_category=Category.HRIS)
    return len(rows)


def decline(*, integration: Integration, membership: Membership | None) -> bool:
    """Nothing changes for the current source; the replacement's account is deleted at Merge. Returns
    False when there was nothing to decline (confirmed or declined meanwhile)."""
    with transaction.atomic():
        replacement = Replacement.objects.select_for_update().filter(integration=integration).first()
        if replacement is None:
            return False
        record(
            organization_id=integration.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.switch_declined",
            target=str(integration),
            replacement=replacement.provider_name or "not linked",
        )
        retired = retire_replacement(replacement)
    if retired:
        delete_retired(retired)
    return True

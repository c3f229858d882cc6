"""When the admin who owns a connection leaves (deactivated, demoted, deleted) or is about to (the sync holds
their deactivation for review), the other admins are asked once to take it over; staff see the ones nobody
can take."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.signals import post_save, pre_delete
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Membership, Role, User
from skillibrium.core.models import record
from skillibrium.notifications.outbox import queue_email

from .choices import Category
from .models import Handoff, HandoffStatus, Integration

logger = logging.getLogger(__name__)


def _is_active_admin(user: User | None, organization_id: int) -> bool:
    return bool(
        user
        and user.is_active
        and Membership.objects.filter(user=user, organization_id=organization_id, role=Role.ADMIN).exists()
    )


def owners_leaving(user_ids: Iterable[int]) -> int:
    """The sync holds these users' deactivation for review: ask before it is decided."""
    return _open(Integration.objects.filter(linked_by_id__in=list(user_ids)), HandoffStatus.LEAVING)


def owners_left(user_ids: Iterable[int]) -> int:
    """The one hook for a user who is no longer an active admin, whichever path got them there: their
    connections are offered to the other admins. A user who is still an active admin is left alone."""
    owned = Integration.objects.filter(linked_by_id__in=list(user_ids)).select_related("linked_by")
    gone = [i.pk for i in owned if not _is_active_admin(i.linked_by, i.organization_id)]
    return _open(Integration.objects.filter(pk__in=gone), HandoffStatus.LEFT)


def owners_back(user_ids: Iterable[int]) -> int:
    """An owner who is an active admin again, with no deactivation waiting for review (reactivated,
    promoted, the held deactivation rejected or released), owns their connections again: the ask closes."""
    from skillibrium.provisioning.models import ChangeKind, HeldChange, HoldStatus

    ids = list(user_ids)
    if not ids:
        return 0
    waiting = HeldChange.objects.filter(
        person__user_id=OuterRef("owner_id"), kind=ChangeKind.DEACTIVATE, status=HoldStatus.PENDING
    )
    admins = Membership.objects.filter(user_id=OuterRef("owner_id"), role=Role.ADMIN, user__is_active=True)
    return (
        Handoff.objects.filter(owner_id__in=ids, status__in=[HandoffStatus.LEAVING, HandoffStatus.LEFT])
        .filter(Exists(admins))
        .exclude(Exists(waiting))
        .update(status=HandoffStatus.CLOSED, closed_at=timezone.now())
    )


def _open(integrations: Iterable[Integration], status: HandoffStatus) -> int:
    opened = 0
    for integration in integrations:
        owner = integration.linked_by
        if owner is None:
            continue
        current = integration.handoffs.filter(status__in=[HandoffStatus.LEAVING, HandoffStatus.LEFT]).first()
        if current is not None and current.owner_id == owner.pk:
            if status == HandoffStatus.LEFT and current.status == HandoffStatus.LEAVING:
                current.status = status  # the same leaving, now done: asked already
                current.save(update_fields=["status"])
            continue
        if current is not None:  # someone else relinked since; that ask is moot
            current.status, current.closed_at = HandoffStatus.CLOSED, timezone.now()
            current.save(update_fields=["status", "closed_at"])
        try:
            with transaction.atomic():
                handoff = Handoff.objects.create(
                    integration=integration, owner=owner, owner_name=owner.display_name, status=status
                )
        except IntegrityError:
            continue  # another request opened it meanwhile: that one asks
        _ask(handoff)
        opened += 1
    return opened


def take_over_url(integration: Integration) -> str:
    name = "integrations:company_edit" if integration.category == Category.CRM else "integrations:edit"
    return settings.SITE_URL + reverse(name, args=[integration.pk]) + "#take-over"


def other_admins(handoff: Handoff) -> list[str]:
    admins = Membership.objects.filter(
        organization_id=handoff.integration.organization_id, role=Role.ADMIN, user__is_active=True
    )
    if handoff.owner_id is not None:
        admins = admins.exclude(user_id=handoff.owner_id)
    return sorted(admins.values_list("user__email", flat=True))


def _ask(handoff: Handoff) -> None:
    """Once per leaving: the outbox key is the handoff's."""
    from skillibrium.notifications.services import subject

    integration = handoff.integration
    recipients = other_admins(handoff)
    if not recipients:
        logger.info("no other admin can take over integration %s; staff will see it", integration.pk)
        return
    context = {"handoff": handoff, "integration": integration, "url": take_over_url(integration)}
    queue_email(
        key=f"handoff/{handoff.pk}",
        subject=subject(f"Take over the {integration.provider_name} integration from {handoff.owner_name}"),
        body=render_to_string("notifications/handoff.txt", context),
        to=recipients,
    )


def open_handoffs(integrations: Iterable[Integration]) -> dict[int, Handoff]:
    """Per integration, the open handoff of its current owner (one who relinked since owns it again)."""
    owners = {i.pk: i.linked_by_id for i in integrations}
    rows = Handoff.objects.filter(
        integration_id__in=list(owners), status__in=[HandoffStatus.LEAVING, HandoffStatus.LEFT]
    )
    return {h.integration_id: h for h in rows if owners[h.integration_id] == h.owner_id}


def take_over(*, integration: Integration, by: Membership) -> Handoff | None:
    """The clicking admin becomes the connection's owner; None when there was nothing to take over."""
    with transaction.atomic():
        handoff = (
            integration.handoffs.select_for_update()
            .filter(status__in=[HandoffStatus.LEAVING, HandoffStatus.LEFT])
            .first()
        )
        if handoff is None:
            return None
        previous = handoff.owner_name
        handoff.status, handoff.taken_by = HandoffStatus.TAKEN_OVER, by.user
        handoff.closed_at = timezone.now()
        handoff.save(update_fields=["status", "taken_by", "closed_at"])
        integration.linked_by = by.user
        integration.save(update_fields=["linked_by"])
        record(
            organization_id=integration.organization_id,
            actor_id=by.user_id,
            action="integration.taken_over",
            target=str(integration),
            before={"owner": previous},
            after={"owner": by.user.email},
        )
    return handoff


def unclaimed() -> list[Handoff]:
    """Open handoffs whose organization has no other active admin to take them: staff follow them up."""
    others = Membership.objects.filter(
        organization_id=OuterRef("integration__organization_id"), role=Role.ADMIN, user__is_active=True
    ).exclude(user_id=OuterRef("owner_id"))
    return list(
        Handoff.objects.filter(status__in=[HandoffStatus.LEAVING, HandoffStatus.LEFT])
        .exclude(Exists(others))
        .select_related("integration__organization")
    )


def _user_saved(sender: type[User], instance: User, update_fields: Iterable[str] | None, **_: object) -> None:
    if update_fields is None or "is_active" in update_fields:
        (owners_back if instance.is_active else owners_left)([instance.pk])


def _membership_saved(
    sender: type[Membership], instance: Membership, update_fields: Iterable[str] | None, **_: object
) -> None:
    if update_fields is None or "role" in update_fields:
        (owners_back if instance.role == Role.ADMIN else owners_left)([instance.user_id])


def _user_deleted(sender: type[User], instance: User, **_: object) -> None:
    # Before the owner is nulled: the handoff keeps their name.
    _open(Integration.objects.filter(linked_by=instance), HandoffStatus.LEFT)


def connect_signals() -> None:
    """Deactivating, demoting or deleting a user one at a time (People page, Django admin, shell) reaches
    the hook through these; provisioning's bulk writes call owners_left themselves."""
    post_save.connect(_user_saved, sender=User, dispatch_uid="handoff_user_saved")
    post_save.connect(_membership_saved, sender=Membership, dispatch_uid="handoff_membership_saved")
    pre_delete.connect(_user_deleted, sender=User, dispatch_uid="handoff_user_deleted")

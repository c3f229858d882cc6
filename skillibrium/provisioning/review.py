"""An admin's decisions on held changes: approve applies the change, reject leaves things as they are."""

from django.db import transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership
from skillibrium.core.models import record
from skillibrium.integrations import handoff

from . import logins, profiles, snapshot, writes
from .models import ChangeKind, HeldChange, HoldReason, HoldStatus, ProvisioningPolicy
from .scope import org_today


def decide(*, membership: Membership, held_ids: list[int] | None, approve: bool) -> int:
    """Decide the given pending changes (None: all of them) for the admin's own organization only. An
    approved change that still cannot apply (its address still belongs to someone) stays pending."""
    organization = membership.organization
    pending = HeldChange.objects.filter(organization=organization, status=HoldStatus.PENDING)
    if held_ids is not None:
        pending = pending.filter(pk__in=held_ids)
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=organization)
    today = org_today(organization)
    decided = 0
    with transaction.atomic():
        for held in pending.select_related("person__user__membership").select_for_update(of=("self",)):
            if approve and not _apply(membership, held, invite=policy.send_invitations, today=today):
                continue
            held.status = HoldStatus.APPROVED if approve else HoldStatus.REJECTED
            held.decided_at, held.decided_by = timezone.now(), membership.user
            held.save(update_fields=["status", "decided_at", "decided_by"])
            record(
                organization_id=organization.pk,
                actor_id=membership.user_id,
                action=f"review.{held.status}",
                target=held.person.work_email,
                kind=held.kind,
                reason=held.reason,
                evidence=held.evidence,
            )
            decided += 1
            if held.kind == ChangeKind.DEACTIVATE and not approve and held.person.user_id:
                handoff.owners_back([held.person.user_id])
    return decided


def _apply(membership: Membership, held: HeldChange, *, invite: bool, today: object) -> bool:
    """Returns whether the change could be applied."""
    candidate = snapshot.candidates([held.person])[0]
    organization = membership.organization
    if held.kind == ChangeKind.CREATE and candidate.user_id is None:
        if held.reason == HoldReason.EMAIL_TAKEN and candidate.email:
            # The admin read that a deactivated account has the address: it is freed for this person.
            logins.free_from_deactivated(organization, candidate.email)
        return writes.create_users(organization, [candidate], invite=invite)[0] == 1
    if held.kind == ChangeKind.CHANGE_EMAIL and candidate.user_id and candidate.email:
        moved, _ = logins.change_emails(organization, [candidate])
        return bool(writes.record_email_changes(organization, moved))
    if held.kind == ChangeKind.UPDATE:
        profiles.apply_held(held, actor_id=membership.user_id)
        if candidate.user_active and candidate.names_differ:
            writes.update_profiles(organization, [candidate])
        return True
    if held.kind == ChangeKind.REACTIVATE and candidate.user_id and not candidate.user_active:
        writes.set_active(organization, [candidate], active=True)
    elif held.kind == ChangeKind.DEACTIVATE and candidate.user_active:
        if candidate.user_is_admin and _active_admins(membership) <= 1:
            writes.record_kept_admins(organization, [candidate])
            return True
        writes.set_active(organization, [candidate], active=False)
    return True


def _active_admins(membership: Membership) -> int:
    return Membership.objects.filter(
        organization=membership.organization, role="admin", user__is_active=True
    ).count()

"""Invitations: how a person gets into an organization, whether an admin or the directory sync added them.

One mechanism for both: a user without a usable password, a membership, and a single-use link that expires
after settings.INVITATION_DAYS. Only the token's sha256 is stored; the raw token is only in the email. A new
link (resend) supersedes the older ones of that user.
"""

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterable
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from skillibrium.core.models import record

from .models import Invitation, Membership, Organization, Role, User
from .time_zones import render_for

logger = logging.getLogger(__name__)

type Status = Literal["invited", "active", "deactivated"]


class InvitationRefused(Exception):
    """The reason is shown to the admin as it is."""

    @property
    def reason(self) -> str:
        return str(self.args[0]) if self.args else "This invitation cannot be sent."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    *,
    organization: Organization,
    email: str,
    role: Role = Role.MEMBER,
    invited_by: User | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A new user of this organization, without a password until they accept the emailed invitation."""
    email = User.objects.normalize_email(email.strip()).lower()
    existing = User.objects.filter(email__iexact=email).select_related("membership").first()
    if existing is not None:
        membership = getattr(existing, "membership", None)
        if membership is not None and membership.organization_id == organization.pk:
            raise InvitationRefused(f"{email} is already a member of {organization}.")
        raise InvitationRefused(
            f"{email} already has a Skillibrium account in another organization; it cannot be invited here."
        )
    with transaction.atomic():
        user = User.objects.create_user(email, first_name=first_name.strip(), last_name=last_name.strip())
        Membership.objects.create(user=user, organization=organization, role=role)
        _issue(user, organization, by=invited_by, action="invitation.sent")
    return user


def resend(*, user: User, by: User | None) -> Invitation:
    """A new link for someone who has not accepted yet; every older link of theirs stops working."""
    membership = Membership.objects.select_related("organization").filter(user=user).first()
    if membership is None:
        raise InvitationRefused(f"{user.email} belongs to no organization.")
    if status_of(user) != "invited":
        raise InvitationRefused(f"{user.email} is {status_of(user)}: there is no invitation to resend.")
    return _issue(user, membership.organization, by=by, action="invitation.resent")


def invite_users(user_ids: Iterable[int]) -> int:
    """Provisioning's call for the users it created: each gets one invitation, however often this runs."""
    users = (
        User.objects.filter(pk__in=list(user_ids), is_active=True, invitations__isnull=True)
        .select_related("membership__organization")
        .order_by("pk")
    )
    sent = 0
    for user in users:
        with transaction.atomic():
            # Locks the user so that a retried task and this one never both invite them.
            locked = User.objects.select_for_update().get(pk=user.pk)
            if locked.invitations.exists():
                continue
            _issue(locked, user.membership.organization, by=None, action="invitation.sent")
        sent += 1
    return sent


def status_of(user: User) -> Status:
    if not user.is_active:
        return "deactivated"
    if user.last_login is not None or user.has_usable_password():
        return "active"
    if user.invitations.filter(accepted_at__isnull=False).exists():
        return "active"
    return "invited"


def url_of(token: str) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def _issue(user: User, organization: Organization, *, by: User | None, action: str) -> Invitation:
    from skillibrium.notifications.outbox import queue_email
    from skillibrium.notifications.services import subject

    if not user.is_active:
        raise InvitationRefused(f"{user.email} is deactivated.")
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(user=user, accepted_at__isnull=True, superseded_at__isnull=True).update(
            superseded_at=now
        )
        invitation = Invitation.objects.create(
            user=user,
            organization=organization,
            token_hash=token_hash(token),
            email=user.email,
            invited_by=by,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.INVITATION_DAYS),
        )
        context = {
            "user": user,
            "organization": organization,
            "invited_by": by,
            "url": url_of(token),
            "expires_at": invitation.expires_at,
        }
        queue_email(
            key=f"invitation/{user.pk}/{invitation.pk}",
            subject=subject(f"You're invited to Skillibrium by {organization}"),
            body=render_for(organization, "notifications/invitation.txt", context),
            to=[user.email],
        )
        record(
            organization_id=organization.pk,
            action=action,
            actor_id=by.pk if by else None,
            target=user.email,
            expires_at=invitation.expires_at.isoformat(),
        )
    logger.info("invitation %s for user %s in organization %s", action, user.pk, organization.pk)
    return invitation


def find(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("user", "organization").filter(token_hash=token_hash(token)).first()
    )


def accept(invitation: Invitation, *, password: str) -> User:
    """The one place an invitation is used: the password is set and the link never works again."""
    now = timezone.now()
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open or not invitation.user.is_active:
            raise InvitationRefused("This invitation can no longer be used.")
        user = invitation.user
        user.set_password(password)
        user.save(update_fields=["password"])
        locked.accepted_at = now
        locked.save(update_fields=["accepted_at"])
        _verify_email(user)
        record(
            organization_id=locked.organization_id,
            action="invitation.accepted",
            actor_id=user.pk,
            target=user.email,
        )
    return user


def _verify_email(user: User) -> None:
    """Accepting the emailed link proves the address, so allauth's verification never asks for it again."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )

"""New organizations: created by staff for a customer, or by a person who signs up; each starts with one
admin. Nothing is created when the first admin cannot be (their email belongs to someone already)."""

import logging
import zoneinfo

from django.db import transaction

from skillibrium.core.models import record

from .invitations import InvitationRefused, invite
from .models import Environment, Membership, Organization, Role, User

logger = logging.getLogger(__name__)


def is_time_zone(name: str) -> bool:
    return name in zoneinfo.available_timezones()


def create_with_invited_admin(
    *,
    name: str,
    time_zone: str,
    environment: Environment,
    admin_email: str,
    admin_first_name: str = "",
    admin_last_name: str = "",
    by: User | None,
) -> Organization:
    """Staff's way: the organization, and an invitation to its first admin."""
    if not is_time_zone(time_zone):
        raise InvitationRefused(f"Unknown time zone: {time_zone}.")
    with transaction.atomic():
        organization = Organization.objects.create(name=name, time_zone=time_zone, environment=environment)
        record(
            organization_id=organization.pk,
            action="organization.created",
            actor_id=by.pk if by else None,
            target=organization.name,
            time_zone=time_zone,
            environment=str(environment),
            admin=admin_email,
        )
        invite(
            organization=organization,
            email=admin_email,
            role=Role.ADMIN,
            invited_by=by,
            first_name=admin_first_name,
            last_name=admin_last_name,
        )
    logger.info("organization %s created by staff user %s", organization.pk, by.pk if by else None)
    return organization


def create_for_signup(*, user: User, name: str) -> Organization:
    """Self sign-up's way: the person who signed up (email verified) is the new organization's admin."""
    with transaction.atomic():
        organization = Organization.objects.create(name=name)
        Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
        record(
            organization_id=organization.pk,
            action="organization.created",
            actor_id=user.pk,
            target=organization.name,
            by="self sign-up",
        )
    logger.info("organization %s created by sign-up of user %s", organization.pk, user.pk)
    return organization

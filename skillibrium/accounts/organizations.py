"""New organizations: created by staff for a customer, or by a person who signs up; each starts with one
admin. Nothing is created when the first admin cannot be (their email belongs to someone already)."""

import logging

from django.db import transaction

from skillibrium.core.models import record

from .invitations import InvitationRefused, invite
from .models import Environment, Membership, Organization, Role, SignUp, SSODomain, User
from .time_zones import is_time_zone

logger = logging.getLogger(__name__)


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


def finish_signup(pending: SignUp) -> Organization:
    """Self sign-up's way, once the email is verified: the person who signed up is the new organization's
    admin."""
    user = pending.user
    with transaction.atomic():
        organization = Organization.objects.create(name=pending.organization_name)
        pending.delete()
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


# Addresses anyone can have: their domain says nothing of an employer, so it is never an organization's.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "gmx.de",
        "hey.com",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "yahoo.com",
        "yandex.com",
        "zoho.com",
    }
)


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def claimed_by(email: str) -> Organization | None:
    """The organization whose domain this is (its SSO domains, or its people's addresses), if any: someone
    signing up with it is asked to get an invitation rather than start a second organization."""
    domain = domain_of(email)
    if not domain or domain in PUBLIC_MAIL_DOMAINS:
        return None
    sso = SSODomain.objects.filter(domain=domain).select_related("configuration__organization").first()
    if sso is not None:
        return sso.configuration.organization
    member = (
        Membership.objects.filter(user__email__iendswith=f"@{domain}")
        .select_related("organization")
        .order_by("organization_id")
        .first()
    )
    return member.organization if member else None

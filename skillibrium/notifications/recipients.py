"""Who hears of a connection: its admins (less those who opted out), always its owner, and the addresses the
organization added; never a deactivated user, and each address once."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.integrations.models import Integration

from .models import AlertSettings


@dataclass(frozen=True)
class Recipients:
    admins: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # told in a footer why they receive it

    def __bool__(self) -> bool:
        return bool(self.admins or self.extra)


def extra_addresses(organization_id: int) -> list[str]:
    found = AlertSettings.objects.filter(organization_id=organization_id).first()
    return list(found.extra_addresses) if found else []


def recipients_for(integration: Integration) -> Recipients:
    admins = Membership.objects.filter(
        organization_id=integration.organization_id, role=Role.ADMIN, user__is_active=True
    ).filter(user__alert_opt_out__isnull=True)
    addresses = {email.lower(): email for email in admins.values_list("user__email", flat=True)}
    owner = integration.linked_by
    if (
        owner is not None
        and owner.is_active
        and Membership.objects.filter(user=owner, organization_id=integration.organization_id).exists()
    ):
        addresses.setdefault(owner.email.lower(), owner.email)
    # An address that is a deactivated user's stays silent even when listed as an extra address.
    inactive = {
        e.lower()
        for e in User.objects.filter(
            membership__organization_id=integration.organization_id, is_active=False
        ).values_list("email", flat=True)
    }
    extra: dict[str, str] = {}
    for email in extra_addresses(integration.organization_id):
        key = email.lower()
        if key not in addresses and key not in inactive:
            extra.setdefault(key, email)
    return Recipients(admins=sorted(addresses.values()), extra=sorted(extra.values()))


def parse_addresses(text: str) -> list[str]:
    """One address a line or separated by commas; raises ValidationError naming every bad one."""
    seen: dict[str, str] = {}
    bad = []
    for raw in text.replace(",", "\n").replace(";", "\n").splitlines():
        email = raw.strip()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            bad.append(email)
            continue
        seen.setdefault(email.lower(), email)
    if bad:
        raise ValidationError(f"Not an email address: {', '.join(bad)}. Nothing was saved.")
    return list(seen.values())


def set_extra_addresses(*, organization: Organization, addresses: list[str]) -> list[str]:
    """Returns the addresses before."""
    settings_row, _ = AlertSettings.objects.get_or_create(organization=organization)
    before = list(settings_row.extra_addresses)
    settings_row.extra_addresses = addresses
    settings_row.save(update_fields=["extra_addresses"])
    return before

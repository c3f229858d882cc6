"""Every time is shown in the organization's time zone, with its label: a middleware activates the signed-in
organization's zone for the request (Django's own mechanism), emails render under it, and admins change it."""

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from skillibrium.core.models import record

from .models import Organization, User


@functools.cache
def zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    return name in zoneinfo.available_timezones()


def zone_of(organization: Organization) -> ZoneInfo:
    """The organization's zone; a name this system does not know (its tz database changed) reads as UTC."""
    try:
        return ZoneInfo(organization.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class OrganizationTimeZoneMiddleware:
    """Pages show times in the signed-in user's organization's zone; signed out (and for staff), in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        organization = None
        if user is not None and user.is_authenticated:
            organization = Organization.objects.filter(memberships__user_id=user.pk).only("time_zone").first()
        if organization is not None:
            timezone.activate(zone_of(organization))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def render_for(organization: Organization, template_name: str, context: dict[str, Any]) -> str:
    """An email's text, its times in the organization's zone: emails leave from the task worker, where no
    request activated it."""
    with timezone.override(zone_of(organization)):
        return render_to_string(template_name, context)


class UnknownTimeZone(ValueError):
    pass


def change_time_zone(*, organization: Organization, name: str, actor: User) -> bool:
    """An admin's change of the organization's zone, audited; False when it was the zone already."""
    if not is_time_zone(name):
        raise UnknownTimeZone(name)
    before = organization.time_zone
    if before == name:
        return False
    with transaction.atomic():
        organization.time_zone = name
        organization.save(update_fields=["time_zone"])
        record(
            organization_id=organization.pk,
            actor_id=actor.pk,
            action="organization.time_zone_changed",
            target=str(organization),
            before={"time_zone": before},
            after={"time_zone": name},
        )
    return True

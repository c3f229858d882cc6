"""`when`: a moment as the reader's organization sees it, with its zone's label (“Dec. 3, 2026, 2:05 p.m.
CET”); `zone_label`: that label alone. Built in to every template (settings.TEMPLATES), emails included."""

import datetime as dt

from django import template
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime

register = template.Library()


def label_of(moment: dt.datetime) -> str:
    """The zone's abbreviation where it has a name (CET, EST, UTC), else its name (Asia/Dubai's is "+04")."""
    abbreviation = moment.tzname() or ""
    if abbreviation.isalpha():
        return abbreviation
    return f"({getattr(moment.tzinfo, 'key', None) or timezone.get_current_timezone_name()})"


@register.filter
def when(value: dt.datetime | str | None, arg: str = "DATETIME_FORMAT") -> str:
    if isinstance(value, str):  # an ISO time as Merge gives it (an issue's first incident)
        value = parse_datetime(value) or value
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{formats.date_format(local, arg)} {label_of(local)}"


@register.simple_tag
def zone_label() -> str:
    return label_of(timezone.localtime())


@register.simple_tag
def zone_name() -> str:
    return timezone.get_current_timezone_name()

from django import template

from skillibrium.integrations.chart import duration_words as words

register = template.Library()


@register.filter
def duration_words(seconds: float | None) -> str:
    """A run's length in words (“2 min 5 s”)."""
    return "" if seconds is None else words(seconds)

"""Which of an organization's users a page of Company Settings > People shows: all of them or those a search
matches, in email order, a page at a time from the last email shown (keyset), so a page costs the same at any
depth.

A search looks for its text anywhere in "email first last", upper-cased: one expression, which on PostgreSQL
a trigram index answers (migration 0008), so a full name is found as well as a fragment of an email.
"""

from dataclasses import dataclass

from django.db.models import F, Func, QuerySet, TextField

from .models import Membership

PAGE_SIZE = 50
# Up to this many matches, the page is cut from all of them, sorted here: the index finds them whatever their
# place in email order. Beyond, matches are common enough that walking the email index finds a page sooner;
# the total is then shown as "more than" this.
SORTED_UP_TO = 10_000


@dataclass(frozen=True)
class Page:
    members: list[Membership]
    total: int
    total_is_floor: bool  # more than `total` match
    next_after: str  # the email the Next link starts after ("" on the last page)


class SearchText(Func):
    """UPPER(email || ' ' || first_name || ' ' || last_name): the very expression migration 0008 indexes
    (none of the three is ever NULL)."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self, prefix: str = "") -> None:
        super().__init__(F(f"{prefix}email"), F(f"{prefix}first_name"), F(f"{prefix}last_name"))


def page_of(*, organization_id: int, query: str, after: str) -> Page:
    members = Membership.objects.filter(organization_id=organization_id)
    if not query:
        # Counting 100,000 memberships costs more than the page: beyond SORTED_UP_TO, "more than".
        total = members.order_by()[: SORTED_UP_TO + 1].count()
        return _walk(members, after, total=min(total, SORTED_UP_TO), total_is_floor=total > SORTED_UP_TO)
    matching = members.alias(text=SearchText("user__")).filter(text__contains=query.upper())
    found = list(matching.values_list("user__email", flat=True)[: SORTED_UP_TO + 1])
    if len(found) > SORTED_UP_TO:
        return _walk(matching, after, total=SORTED_UP_TO, total_is_floor=True)
    # Code point order, as the email index's under a C collation; a page chosen here is fetched by email.
    emails = sorted(e for e in found if e > after)[: PAGE_SIZE + 1]
    shown = sorted(_rows(members.filter(user__email__in=emails[:PAGE_SIZE])), key=lambda m: m.user.email)
    next_after = emails[PAGE_SIZE - 1] if len(emails) > PAGE_SIZE else ""
    return Page(shown, len(found), False, next_after)


def _rows(members: QuerySet[Membership]) -> QuerySet[Membership]:
    return members.select_related("user", "user__person")


def _walk(members: QuerySet[Membership], after: str, *, total: int, total_is_floor: bool) -> Page:
    rows = list(_rows(members.filter(user__email__gt=after)).order_by("user__email")[: PAGE_SIZE + 1])
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return Page(rows, total, total_is_floor, rows[-1].user.email if more else "")

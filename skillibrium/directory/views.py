from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from skillibrium.accounts.access import admin_view, member_view
from skillibrium.accounts.models import Membership
from skillibrium.directory.models import Person

PAGE_SIZE = 50
# Counting 100,000 people costs more than the rest of the page: beyond this, "more than 10,000".
COUNTED_UP_TO = 10_000


@dataclass(frozen=True)
class Page:
    number: int
    people: list[Person]
    has_next: bool
    total: int
    total_is_floor: bool  # more than `total`
    last: int | None  # the last page's number, when the total is exact


def page_of(people: QuerySet[Person], number: int) -> Page:
    """A page's ids first (read from the order's index alone, with one more to tell a next page), then its
    people with their managers; the total is counted only when the page does not tell it."""
    start = (number - 1) * PAGE_SIZE
    ids = list(people.values_list("pk", flat=True)[start : start + PAGE_SIZE + 1])
    if number > 1 and not ids:
        return page_of(people, 1)
    shown = list(Person.objects.filter(pk__in=ids[:PAGE_SIZE]).select_related("manager"))
    if number == 1 and len(ids) <= PAGE_SIZE:
        total = len(ids)
    else:
        total = people.order_by()[: COUNTED_UP_TO + 1].count()
    floor = total > COUNTED_UP_TO
    last = None if floor else max(1, -(-total // PAGE_SIZE))
    return Page(number, shown, len(ids) > PAGE_SIZE, min(total, COUNTED_UP_TO), floor, last)


@member_view
def my_org(request: HttpRequest, membership: Membership) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    people = Person.objects.for_org(membership.organization)
    if query:
        people = people.search(query)
    number = request.GET.get("page", "")
    page = page_of(people, int(number) if number.isdigit() and 0 < int(number) < 10**6 else 1)
    context = {"page": page, "people": page.people, "query": query, "total": page.total}
    template = (
        "directory/people_table.html"
        if request.headers.get("HX-Request") == "true"
        else "directory/my_org.html"
    )
    return render(request, template, context)


RUNS_SHOWN = 20


@admin_view
def person_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """One person: what the source says, why they have or lack access, and the runs that touched them."""
    from skillibrium.provisioning.explain import access_sentence
    from skillibrium.sync.models import RunEntry
    from skillibrium.sync.views import Row, why

    person = get_object_or_404(
        Person.objects.for_org(membership.organization).select_related("manager", "user"), pk=pk
    )
    entries = list(RunEntry.objects.filter(person=person).select_related("run").order_by("-pk")[:RUNS_SHOWN])
    context = {
        "person": person,
        "access": access_sentence(person),
        "rows": [Row(e, why(e, {})) for e in entries],
    }
    return render(request, "directory/person.html", context)

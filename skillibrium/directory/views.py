from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from skillibrium.accounts.access import admin_view, member_view
from skillibrium.accounts.models import Membership
from skillibrium.directory.models import Person

PAGE_SIZE = 50


@member_view
def my_org(request: HttpRequest, membership: Membership) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    people = Person.objects.for_org(membership.organization)
    if query:
        people = people.search(query)
    # The page's ids first (from the index, without joining a manager to every row skipped), then its people;
    # the paginator counts once, for the pager and the total alike.
    paginator = Paginator(people.values_list("pk", flat=True), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    shown = Person.objects.filter(pk__in=list(page.object_list)).select_related("manager")
    context = {"page": page, "people": list(shown), "query": query, "total": paginator.count}
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

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from skillibrium.accounts.access import member_view
from skillibrium.accounts.models import Membership
from skillibrium.directory.models import Person

PAGE_SIZE = 50


@member_view
def my_org(request: HttpRequest, membership: Membership) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    people = Person.objects.for_org(membership.organization).select_related("manager")
    if query:
        people = people.search(query)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "total": people.count()}
    template = (
        "directory/people_table.html"
        if request.headers.get("HX-Request") == "true"
        else "directory/my_org.html"
    )
    return render(request, template, context)

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from skillibrium.accounts.models import Membership
from skillibrium.core.access import member_view


@member_view
def settings_profile(request: HttpRequest, membership: Membership) -> HttpResponse:
    return render(request, "accounts/settings_profile.html", {"tab": "profile"})


@member_view
def settings_company(request: HttpRequest, membership: Membership) -> HttpResponse:
    return render(request, "accounts/settings_company.html", {"tab": "company"})

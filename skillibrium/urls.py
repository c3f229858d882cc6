from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("directory:my_org" if request.user.is_authenticated else "account_login")


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("my-org/", include("skillibrium.directory.urls")),
    path("settings/", include("skillibrium.accounts.urls")),
    path("", include("skillibrium.integrations.urls")),
]

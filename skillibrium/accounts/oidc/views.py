from collections.abc import Callable

import requests
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .provider import VerifiedOpenIDConnectAdapter

UNREACHABLE = "Your identity provider could not be reached. Please try again in a few minutes."


def _run(view: Callable[[HttpRequest], HttpResponse], request: HttpRequest) -> HttpResponse:
    try:
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    except requests.RequestException:
        # Discovery, keys or token endpoint down: say so, rather than fail with a server error.
        return render(request, "socialaccount/authentication_error.html", {"reason": UNREACHABLE}, status=502)


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    return _run(
        lambda r: OAuth2LoginView.adapter_view(VerifiedOpenIDConnectAdapter(r, provider_id))(r), request
    )


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    return _run(
        lambda r: OAuth2CallbackView.adapter_view(VerifiedOpenIDConnectAdapter(r, provider_id))(r), request
    )

"""Run in a subprocess with production settings (tests/test_deployment.py): sign in over https against a fresh
database and print, as JSON, the headers and cookies a browser would receive."""

import json
import os
import sys
from http.cookies import Morsel
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillibrium.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402

from skillibrium.accounts.models import Membership, Organization, Role, User  # noqa: E402

HEADERS = ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options", "Location")
COOKIE_FLAGS = ("secure", "httponly", "samesite")
EMAIL, PASSWORD = "probe@example.com", "a-long-probe-password"


def cookie(morsel: Morsel[str]) -> dict[str, Any]:
    return {key: morsel[key] if key == "samesite" else bool(morsel[key]) for key in COOKIE_FLAGS}


def seen(response: HttpResponse) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": {name: response.headers.get(name) for name in HEADERS},
        "cookies": {name: cookie(morsel) for name, morsel in response.cookies.items()},
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the release step: hashed names
    organization = Organization.objects.create(name="Probe")
    user = User.objects.create_user(EMAIL, PASSWORD)
    Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
    client = Client(HTTP_HOST=os.environ["SKILLIBRIUM_ALLOWED_HOSTS"])
    pages = {
        "plain_http": client.get("/accounts/login/"),
        "sign_in_page": client.get("/accounts/login/", secure=True),
        "signed_in": client.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD}, secure=True),
        "my_org": client.get("/my-org/", secure=True),
    }
    report = {name: seen(response) for name, response in pages.items()}
    report["my_org"]["content"] = pages["my_org"].content.decode()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

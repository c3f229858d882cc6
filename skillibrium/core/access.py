"""Every view resolves the signed-in user's membership first; queries are then scoped to its organization."""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from skillibrium.accounts.models import Membership

type MemberView[**P] = Callable[Concatenate[HttpRequest, Membership, P], HttpResponse]
type View[**P] = Callable[Concatenate[HttpRequest, P], HttpResponse]


def membership_of(request: HttpRequest) -> Membership:
    user = request.user
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied
    try:
        membership = Membership.objects.select_related("organization").get(user_id=user.pk)
    except Membership.DoesNotExist:
        raise PermissionDenied from None
    return membership


def member_view[**P](view: MemberView[P]) -> View[P]:
    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        return view(request, membership_of(request), *args, **kwargs)

    return wrapper


def admin_view[**P](view: MemberView[P]) -> View[P]:
    """Admin-only: checked here on the server, whatever the page shows or hides."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        membership = membership_of(request)
        if not membership.is_admin:
            raise PermissionDenied
        return view(request, membership, *args, **kwargs)

    return wrapper

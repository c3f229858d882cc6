"""Company Settings > People: every user of the organization, their role and access. Admins only."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from skillibrium.accounts.access import admin_view

from . import invitations, people, people_search
from .models import Membership, Role, User


def status_of(user: User) -> str:
    """invitations.status_of without its per-user query: accepting an invitation sets a password."""
    if not user.is_active:
        return "deactivated"
    return "active" if user.last_login is not None or user.has_usable_password() else "invited"


@admin_view
def people_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    after = request.GET.get("after", "")[:254]
    page = people_search.page_of(organization_id=membership.organization_id, query=query, after=after)
    context = {
        "tab": "company",
        "panel": "people",
        "query": query,
        "after": after,
        "rows": [_row(m) for m in page.members],
        "total": page.total,
        "total_is_floor": page.total_is_floor,
        "next_after": page.next_after,
    }
    return render(request, "accounts/people.html", context)


def _row(member: Membership) -> dict[str, object]:
    person = getattr(member.user, "person", None)
    return {
        "membership": member,
        "user": member.user,
        "status": status_of(member.user),
        "source": people.SOURCE_NAMES.get(person.source_category, "Source") if person else "",
    }


def _target(membership: Membership, user_id: int) -> Membership:
    try:
        return people.member_of(membership, user_id)
    except Membership.DoesNotExist:
        raise Http404("No such user in your organization.") from None


def _back(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("return_query", "")
    return redirect(reverse("accounts:people") + (f"?{query}" if query else ""))


def _act(request: HttpRequest, membership: Membership, user_id: int, action: str) -> HttpResponse:
    target = _target(membership, user_id)
    try:
        if action in ("promote", "demote"):
            role = Role.ADMIN if action == "promote" else Role.MEMBER
            outcome = people.set_role(admin=membership, target=target, role=role)
        elif action in ("deactivate", "reactivate"):
            outcome = people.set_active(admin=membership, target=target, active=action == "reactivate")
        else:
            outcome = people.clear_override(admin=membership, target=target)
    except people.PeopleRefused as refused:
        messages.error(request, str(refused))
        return _back(request)
    messages.success(request, outcome.message)
    if outcome.note:
        messages.warning(request, outcome.note)
    return _back(request)


@require_POST
@admin_view
def promote(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    return _act(request, membership, user_id, "promote")


@require_POST
@admin_view
def demote(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    return _act(request, membership, user_id, "demote")


@require_POST
@admin_view
def deactivate(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    return _act(request, membership, user_id, "deactivate")


@require_POST
@admin_view
def reactivate(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    return _act(request, membership, user_id, "reactivate")


@require_POST
@admin_view
def clear_override(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    return _act(request, membership, user_id, "clear_override")


@require_POST
@admin_view
def invite(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Someone the HRIS does not list (a contractor, say) invited by address; audited by invitations."""
    email = request.POST.get("email", "").strip()[:254]
    if not email:
        messages.error(request, "Enter an email address to invite; nothing was sent.")
        return _back(request)
    try:
        user = invitations.invite(
            organization=membership.organization, email=email, invited_by=membership.user
        )
    except invitations.InvitationRefused as refused:
        messages.error(request, refused.reason)
        return _back(request)
    messages.success(request, f"Invitation sent to {user.email}.")
    return _back(request)


@require_POST
@admin_view
def resend(request: HttpRequest, membership: Membership, user_id: int) -> HttpResponse:
    target = _target(membership, user_id)
    try:
        invitations.resend(user=target.user, by=membership.user)
    except invitations.InvitationRefused as refused:
        messages.error(request, refused.reason)
        return _back(request)
    messages.success(request, f"A new invitation was sent to {target.user.email}; older links stop working.")
    return _back(request)

"""People and their users as the plan sees them (candidates), read in bulk; a person not yet linked is
matched to a member of the organization by email."""

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Lower

from skillibrium.accounts.models import Membership, Role
from skillibrium.directory.models import Person

from .plan import Candidate


def candidates(people: list[Person]) -> list[Candidate]:
    """Snapshot people and their users; a person not yet linked is matched to a member by email."""
    organization_id = people[0].organization_id if people else 0
    unlinked = {p.work_email for p in people if p.user is None and p.work_email}
    by_email = {
        m.email_key: m
        for m in Membership.objects.filter(organization_id=organization_id, user__person__isnull=True)
        .select_related("user")
        .annotate(email_key=Lower("user__email"))
        .filter(email_key__any_of=unlinked)
    }
    result = []
    for p in people:
        user = p.user
        membership = getattr(user, "membership", None) if user else None
        if user is None and p.work_email in by_email:
            membership = by_email[p.work_email]
            user = membership.user
        result.append(
            Candidate(
                person_id=p.pk,
                email=p.work_email,
                first_name=p.first_name,
                last_name=p.last_name,
                employment_status=p.employment_status,
                employment_type=p.employment_type,
                department=p.department,
                location=p.location,
                termination_date=p.termination_date,
                start_date=p.start_date,
                remote_was_deleted=p.remote_was_deleted,
                source_category=p.source_category,
                not_seen=p.not_seen_since is not None,
                user_id=user.pk if user else None,
                user_active=bool(user and user.is_active),
                user_is_admin=bool(
                    membership and membership.organization_id == organization_id and membership.is_admin
                ),
                user_first_name=user.first_name if user else "",
                user_last_name=user.last_name if user else "",
                user_email=user.email if user else "",
                user_override=membership.access_override
                if membership and membership.organization_id == organization_id
                else "",
                matched_by_email=p.user is None and user is not None,
            )
        )
    return result


def candidate_chunks(people: QuerySet[Person], size: int) -> Iterator[list[Candidate]]:
    """The same snapshots as candidates(), read as plain values in pages of `size` people by id."""
    last = 0
    while True:
        rows = list(people.filter(pk__gt=last).order_by("pk").values_list(*_CANDIDATE_COLUMNS)[:size])
        if not rows:
            return
        last = rows[-1][0]
        yield _candidates_from_values(rows)
        if len(rows) < size:
            return


_CANDIDATE_COLUMNS = (
    "pk",
    "organization_id",
    "work_email",
    "first_name",
    "last_name",
    "employment_status",
    "employment_type",
    "department",
    "location",
    "termination_date",
    "start_date",
    "remote_was_deleted",
    "source_category",
    "not_seen_since",
    "user_id",
    "user__is_active",
    "user__first_name",
    "user__last_name",
    "user__email",
    "user__membership__organization_id",
    "user__membership__role",
    "user__membership__access_override",
)


def _members_by_email(organization_id: int, emails: set[str]) -> dict[str, tuple[Any, ...]]:
    """Members of the organization not yet anyone's, by (lower-cased) email: user id, active, names, email,
    organization, role, access override. A user who is another person's is never matched by an address they
    left behind."""
    if not emails:
        return {}
    rows = (
        Membership.objects.filter(organization_id=organization_id, user__person__isnull=True)
        .annotate(email_key=Lower("user__email"))
        .filter(email_key__any_of=emails)
        .values_list(
            "email_key",
            "user_id",
            "user__is_active",
            "user__first_name",
            "user__last_name",
            "user__email",
            "organization_id",
            "role",
            "access_override",
        )
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _candidates_from_values(rows: list[tuple[Any, ...]]) -> list[Candidate]:
    organization_id = rows[0][1]
    user_at = _CANDIDATE_COLUMNS.index("user_id")
    unlinked = {r[2] for r in rows if r[user_at] is None and r[2]}
    by_email = _members_by_email(organization_id, unlinked)
    result = []
    for (
        pk,
        _,
        email,
        first,
        last,
        status,
        kind,
        department,
        location,
        termination,
        start,
        deleted,
        source,
        not_seen_since,
        *user,
    ) in rows:
        user_id, active, user_first, user_last, user_email, member_of, role, override = user
        matched = user_id is None and email in by_email
        if matched:
            user_id, active, user_first, user_last, user_email, member_of, role, override = by_email[email]
        result.append(
            Candidate(
                person_id=pk,
                email=email,
                first_name=first,
                last_name=last,
                employment_status=status,
                employment_type=kind,
                department=department,
                location=location,
                termination_date=termination,
                start_date=start,
                remote_was_deleted=deleted,
                source_category=source,
                not_seen=not_seen_since is not None,
                user_id=user_id,
                user_active=bool(user_id and active),
                user_is_admin=bool(role and member_of == organization_id and role == Role.ADMIN),
                user_override=(override or "") if member_of == organization_id else "",
                user_first_name=user_first if user_id else "",
                user_last_name=user_last if user_id else "",
                user_email=user_email if user_id else "",
                matched_by_email=matched,
            )
        )
    return result

"""Whom provisioning looks at: the organization's day, who could leave, the people of a run and of healthy
sources, read as candidates in chunks."""

import datetime as dt
from array import array
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from skillibrium.accounts.models import Organization
from skillibrium.directory.models import EmploymentStatus, Person, SourceIdentity
from skillibrium.integrations.choices import Health
from skillibrium.integrations.models import Integration

from . import snapshot
from .models import HeldChange, HoldStatus
from .plan import Candidate

CHUNK = 2000


def org_today(organization: Organization) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()


def could_leave(today: dt.date) -> Q:
    """Whom a plan could deactivate: people with positive evidence and an active user, or with no user yet
    (their email may match a member's). Everyone else is ruled out without reading them."""
    evidence = (
        Q(remote_was_deleted=True)
        | Q(employment_status=EmploymentStatus.INACTIVE)
        | Q(termination_date__lte=today)
    )
    return evidence & (Q(user__isnull=True) | Q(user__is_active=True))


def leavers_waiting(integration: Integration) -> int:
    """People of this source with positive evidence of leaving whose user is still active: the deactivations
    an unhealthy connection holds back."""
    today = org_today(integration.organization)
    people = Person.objects.for_org(integration.organization).filter(source_category=integration.category)
    return people.filter(could_leave(today), user__is_active=True).count()


def healthy_people(organization: Organization, *, reviewing: str | None = None) -> QuerySet[Person]:
    """The organization's people, but for those whose source is not healthy or whose first sync waits for
    review: nothing of theirs applies. `reviewing`: only the people of that source, waiting or not (what
    confirming its review would provision)."""
    people = Person.objects.for_org(organization)
    if reviewing is not None:
        return people.filter(source_category=reviewing)
    held_back = Integration.objects.for_org(organization).filter(
        ~Q(health__in=[Health.HEALTHY, Health.CATCHING_UP]) | Q(pk__in=Integration.objects.awaiting_review())
    )
    categories = list(held_back.values_list("category", flat=True))
    return people.exclude(source_category__in=categories)


def people_of_run(
    people: QuerySet[Person], run_id: int, today: dt.date, *, streamed: bool, invite_days: int
) -> tuple[array[int], array[int]]:
    """Whom a run looks at: the people it touched, those whose termination date has come, pre-hires whose
    invitation is due (their record need not change on that day) and those held (ids, ascending); and which
    of them could leave. Read once, each part by its own index or scan: a chunk then costs an index lookup,
    not this filter over the whole organization."""
    touched = people.filter(Exists(SourceIdentity.objects.filter(person=OuterRef("pk"), seen_in_run=run_id)))
    if streamed:
        # Its batches were planned as they were written, all but deactivations: only those who could leave
        # are planned again, together, so that the safeguard counts every deactivation of the run at once.
        touched = touched.filter(could_leave(today))
    due = people.filter(user__is_active=True, termination_date__lte=today)
    starting = people.filter(
        user__isnull=True, start_date__gt=today, start_date__lte=today + dt.timedelta(days=invite_days)
    )
    held = people.filter(Exists(HeldChange.objects.filter(person=OuterRef("pk"), status=HoldStatus.PENDING)))
    leaving = ExpressionWrapper(could_leave(today), output_field=BooleanField())
    # Unordered parts (SQLite allows no ORDER BY inside a UNION), ordered as a whole.
    parts = [
        part.annotate(leaving=leaving).order_by().values_list("pk", "leaving")
        for part in (touched, due, starting, held)
    ]
    ids, leaving_ids = array("q"), array("q")
    for pk, could in parts[0].union(*parts[1:]).order_by("pk").iterator(chunk_size=20_000):
        ids.append(pk)
        if could:
            leaving_ids.append(pk)
    return ids, leaving_ids


def chunks_of(people: QuerySet[Person], ids: array[int] | None = None) -> Iterator[list[Candidate]]:
    """Candidates in chunks: of all these people, or only of those with `ids` among them."""
    if ids is None:
        yield from snapshot.candidate_chunks(people, CHUNK)
        return
    for start in range(0, len(ids), CHUNK):
        chunk = people.filter(pk__any_of=ids[start : start + CHUNK].tolist())
        yield from snapshot.candidate_chunks(chunk, CHUNK)

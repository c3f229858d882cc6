"""Sign-in emails follow the HRIS: a user's email moves with their person's work email, never onto someone
else's address, and what still points at an old address (allauth's addresses, SAML identities) goes with it.

Checked and written per batch: one query for whoever holds the new addresses, two updates (through a
placeholder, so that swaps and chains within a batch never meet the unique constraint) and two deletes.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.db.models.functions import Lower

from skillibrium.accounts.models import Organization, User
from skillibrium.core.bulk import update_rows

from . import writes
from .models import ChangeKind, HoldReason
from .plan import Candidate


@dataclass(frozen=True, slots=True)
class Holder:
    user_id: int
    active: bool
    organization_id: int | None
    name: str


def holders(emails: Iterable[str]) -> dict[str, Holder]:
    """Who has each of these (lower-cased) addresses now."""
    wanted = list(set(emails))
    if not wanted:
        return {}
    rows = (
        User.objects.annotate(e=Lower("email"))
        .filter(e__any_of=wanted)
        .values_list(
            "e", "pk", "is_active", "membership__organization_id", "first_name", "last_name", "email"
        )
    )
    return {
        e: Holder(pk, active, org, f"{first} {last}".strip() or email)
        for e, pk, active, org, first, last, email in rows
    }


def why_taken(holder: Holder | None, organization: Organization) -> str:
    """What an admin reads in the review queue; another organization's user is never named."""
    if holder is None:
        return "another Skillibrium user has this address"
    if holder.organization_id != organization.pk:
        return "a Skillibrium user outside your organization has this address"
    if not holder.active:
        return (
            f"the deactivated account of {holder.name} still has this address; approve to free it from that "
            "account (which keeps its history) and give this person their own"
        )
    return f"{holder.name}'s Skillibrium account has this address"


def change_emails(
    organization: Organization, people: list[Candidate]
) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Moves each user to their person's work email where the address is free, or freed by another move of
    the same batch (a swap, a chain). Returns the moves made and the ones held back, each with why."""
    if not people:
        return [], []
    found = holders(c.email for c in people)
    wanted = Counter(c.email for c in people)
    blocked = {
        c.user_id: "another person has the same address at the source" for c in people if wanted[c.email] > 1
    }
    moving = {c.user_id: c for c in people if c.user_id not in blocked}
    while True:  # a move waits on the holder's own move: drop moves until every holder left is moving
        waiting = {
            user_id: why_taken(found[c.email], organization)
            for user_id, c in moving.items()
            if c.email in found and found[c.email].user_id not in moving
        }
        if not waiting:
            break
        blocked |= waiting
        moving = {user_id: c for user_id, c in moving.items() if user_id not in waiting}
    moved = list(moving.values())
    _write(moved, freed=any(c.email in found for c in moved))
    return moved, [(c, blocked[c.user_id]) for c in people if c.user_id in blocked]


def _write(moved: list[Candidate], *, freed: bool) -> None:
    ids = [c.user_id for c in moved]
    if not ids:
        return
    if freed:
        update_rows(User, ["email"], ((c.user_id, f"moving-{c.user_id}@email-change.invalid") for c in moved))
    update_rows(User, ["email"], ((c.user_id, c.email) for c in moved))
    forget_addresses([(c.user_id, c.user_email) for c in moved], new=[c.email for c in moved])


def forget_addresses(old: list[tuple[int | None, str]], *, new: list[str]) -> None:
    """allauth finds users for sign-in and password reset by its own address rows too, and a SAML identity is
    often the address itself: none may lead an address's next holder to its former holder's account."""
    user_ids = [user_id for user_id, _ in old if user_id]
    EmailAddress.objects.filter(user_id__in=user_ids).delete()
    EmailAddress.objects.annotate(e=Lower("email")).filter(e__in=new).exclude(user_id__in=user_ids).delete()
    former = {(user_id, email.lower()) for user_id, email in old}
    stale = [
        pk
        for pk, user_id, uid in SocialAccount.objects.filter(user_id__in=user_ids).values_list(
            "pk", "user_id", "uid"
        )
        if (user_id, uid.lower()) in former
    ]
    SocialAccount.objects.filter(pk__in=stale).delete()


def hold_taken(
    organization: Organization,
    taken: list[Candidate],
    blocked: list[tuple[Candidate, str]],
    *,
    run_id: int | None,
    today: dt.date,
) -> int:
    """New people whose address a user has, and moves onto another's address, wait for an admin: why."""
    found = holders(c.email for c in taken)
    why = {c.person_id: f"{c.email}: {why_taken(found.get(c.email), organization)}" for c in taken}
    why |= {
        c.person_id: f"The source changed the work email from {c.user_email} to {c.email}: {reason}"
        for c, reason in blocked
    }
    held = [(c, ChangeKind.CREATE, HoldReason.EMAIL_TAKEN) for c in taken]
    held += [(c, ChangeKind.CHANGE_EMAIL, HoldReason.EMAIL_TAKEN) for c, _ in blocked]
    return writes.hold(organization, held, run_id=run_id, today=today, why=why)


def free_from_deactivated(organization: Organization, email: str) -> bool:
    """On an admin's approval: a deactivated member's address goes to a new person; the old account keeps
    its history under an address nobody can receive mail at."""
    holder = holders([email]).get(email)
    if holder is None:
        return True
    if holder.active or holder.organization_id != organization.pk:
        return False
    released = f"released-{holder.user_id}@address-released.invalid"  # unique, and no mail reaches it
    User.objects.filter(pk=holder.user_id).update(email=released)
    forget_addresses([(holder.user_id, email)], new=[email])
    writes.record_address_released(organization, email, released=released)
    return True

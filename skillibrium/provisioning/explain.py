"""Why a person has or lacks access, in one sentence: from their user, the source's evidence, what waits for
review, the admin's hand decisions and the provisioning policy, in the order provisioning weighs them."""

from skillibrium.accounts.models import Membership, Role
from skillibrium.directory.models import Person
from skillibrium.integrations.choices import Health
from skillibrium.integrations.models import Integration

from . import snapshot, writes
from .models import ChangeKind, HeldChange, HoldStatus, ProvisioningPolicy
from .plan import SUPPLIED_BY_SOURCE, Candidate
from .scope import org_today


def access_sentence(person: Person) -> str:
    organization = person.organization
    policy = ProvisioningPolicy.objects.filter(organization=organization).first() or ProvisioningPolicy()
    c = snapshot.candidates([person])[0]
    held = {
        h.kind: h
        for h in HeldChange.objects.filter(person=person, status=HoldStatus.PENDING).order_by("created_at")
    }
    evidence = c.leaving_evidence(org_today(organization))
    source = Integration.objects.for_org(organization).filter(category=person.source_category).first()
    if c.user_id is not None and c.user_active:
        return f"{person.name} has access: {_why_active(c, held, evidence, source)}."
    if c.user_id is not None:
        return f"{person.name} lacks access: {_why_inactive(c, held, evidence, policy)}."
    return f"{person.name} lacks access: {_why_no_user(person, c, held, evidence, source, policy)}."


def _waits(change: HeldChange, what: str) -> str:
    because = change.get_reason_display().lower()
    if change.evidence:
        because = f"{because}: {change.evidence}"
    return f"{what} waits for an admin's review ({because})"


def _source_unwell(source: Integration | None) -> str:
    if source is None:
        return ""
    if source.awaiting_review:
        return f"the first sync of {source.provider_name} waits for an admin's review"
    if source.is_paused or source.health not in (Health.HEALTHY, Health.CATCHING_UP):
        return f"the {source.provider_name} connection is {source.status_label.lower()}, so nothing applies"
    return ""


def _why_active(c: Candidate, held: dict[str, HeldChange], evidence: str, source: Integration | None) -> str:
    if ChangeKind.DEACTIVATE in held:
        return _waits(held[ChangeKind.DEACTIVATE], "deactivating them")
    if c.user_override == "active":
        return "an admin keeps them active by hand, whatever the source says"
    if not evidence:
        status = c.employment_status.capitalize()
        return (
            f"their user is active and the source shows no evidence of leaving (employment status {status})"
        )
    unwell = _source_unwell(source)
    if unwell:
        return f"the source says {evidence}, but {unwell}"
    rejected = writes.rejected_deactivations([c.person_id]).get(c.person_id)
    if rejected is not None and rejected[1] == c.evidence_key():
        return f"the source says {evidence}, but an admin rejected deactivating them on this evidence"
    if c.user_is_admin:
        others = Membership.objects.filter(
            organization_id=source.organization_id if source else 0, role=Role.ADMIN, user__is_active=True
        ).exclude(user_id=c.user_id or 0)
        if not others.exists():
            return f"the source says {evidence}, but the last active admin is never deactivated"
    return f"the source says {evidence}; the next sync deactivates them"


def _why_inactive(
    c: Candidate,
    held: dict[str, HeldChange],
    evidence: str,
    policy: ProvisioningPolicy,
) -> str:
    if c.user_override == "deactivated":
        return "an admin deactivated their user by hand, whatever the source says"
    if ChangeKind.REACTIVATE in held:
        return _waits(held[ChangeKind.REACTIVATE], "reactivating them")
    if evidence:
        return f"their user was deactivated because the source says {evidence}"
    if c.not_seen:
        return "their user is deactivated and the latest full read of the source did not list them"
    return f"their user is deactivated and {_policy_refusal(c, policy) or 'the next sync reactivates them'}"


def _why_no_user(
    person: Person,
    c: Candidate,
    held: dict[str, HeldChange],
    evidence: str,
    source: Integration | None,
    policy: ProvisioningPolicy,
) -> str:
    if ChangeKind.CREATE in held:
        return _waits(held[ChangeKind.CREATE], "creating their user")
    if not c.email:
        return "the source has no work email for them, and a user needs one"
    if evidence:
        return f"the source says {evidence}"
    if person.not_seen_since:
        since = f"{person.not_seen_since:%Y-%m-%d}"
        return f"the latest full read of the source did not list them (last seen {since})"
    unwell = _source_unwell(source)
    if unwell:
        return unwell
    refusal = _policy_refusal(c, policy)
    if refusal:
        return refusal
    today = org_today(person.organization)
    if not c.is_due(policy, today):
        days = policy.invite_days_before_start
        return f"they start on {c.start_date:%Y-%m-%d}, and users are created {days} days before the start"
    return "no user yet; the next sync creates one"


def _policy_refusal(c: Candidate, policy: ProvisioningPolicy) -> str:
    """What in the provisioning policy keeps them out, if anything."""
    if c.employment_status not in (policy.employment_statuses or ["ACTIVE"]):
        return f"the provisioning policy does not admit employment status {c.employment_status.capitalize()}"
    supplied = SUPPLIED_BY_SOURCE.get(c.source_category, SUPPLIED_BY_SOURCE["hris"])
    admitted = policy.admits(
        status=c.employment_status,
        employment_type=c.employment_type if "employment_type" in supplied else None,
        department=c.department if "department" in supplied else None,
        location=c.location if "location" in supplied else None,
    )
    if not admitted:
        return "the provisioning policy's filters (employment type, department or location) leave them out"
    return ""

"""An organization's connection to its HRIS or CRM through a Merge linked account, and its health."""

import datetime as dt
import logging
from typing import Self

from django.db import models, transaction
from django.utils import timezone

from skillibrium.accounts.models import Organization
from skillibrium.core.crypto import EncryptedTextField
from skillibrium.merge_client import MergeClient

from .choices import Category, Cause, Health, IncidentKind, ReviewState, Trigger

PROVIDER_LOGOS = frozenset({"workday", "bamboohr", "hibob", "salesforce", "hubspot"})


def logo_of(provider_slug: str) -> str:
    """The provider's logo, served by Skillibrium: Merge's image URL, frozen at link time, breaks."""
    slug = provider_slug if provider_slug in PROVIDER_LOGOS else "generic"
    return f"skillibrium/logos/{slug}.svg"


logger = logging.getLogger(__name__)


class IntegrationQuerySet(models.QuerySet["Integration"]):
    def for_org(self, organization: Organization) -> Self:
        return self.filter(organization=organization)

    def awaiting_review(self) -> Self:
        return self.filter(review_state__in=[ReviewState.PENDING, ReviewState.DECLINED])

    def needing_action(self) -> Self:
        """Broken connections an admin must fix; one an admin disconnected on purpose asks nothing."""
        broken = self.filter(health__in=[Health.RELINK_NEEDED, Health.DISCONNECTED])
        return broken.exclude(cause=Cause.DISCONNECTED_BY_ADMIN)

    def due_for_sync(self) -> Self:
        return self.filter(
            is_paused=False,
            health__in=[Health.HEALTHY, Health.CATCHING_UP, Health.DEGRADED],
            next_sync_at__lte=timezone.now(),
        )


class Integration(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="integrations")
    category = models.CharField(max_length=8, choices=Category.choices)
    provider_slug = models.CharField(max_length=64)
    provider_name = models.CharField(max_length=128)
    merge_account_id = models.CharField(max_length=64)
    account_token = EncryptedTextField()
    # The end_user_origin_id the linked account was made with, when not the organization's own (an account
    # linked to replace another one, while that one still held the organization's id): relinks ask with it.
    merge_origin_id = models.CharField(max_length=64, blank=True)
    # Set when a relink came back with another linked account (new Merge ids for the same provider records):
    # the next sync reads everything and moves each source identity to its new id by the provider's remote id.
    rekey_from_account = models.CharField(max_length=64, blank=True)

    health = models.CharField(max_length=16, choices=Health.choices, default=Health.HEALTHY)
    cause = models.CharField(max_length=32, choices=Cause.choices, default=Cause.NONE, blank=True)
    cause_detail = models.TextField(blank=True)
    health_changed_at = models.DateTimeField(default=timezone.now)
    is_paused = models.BooleanField(default=False)

    linked_at = models.DateTimeField(default=timezone.now)
    linked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_successful_sync_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Set while the connection is unwell: the next healthy run provisions everyone, not just its changes.
    provisioning_pending = models.BooleanField(default=False)
    # When the organization last lived through a break (relink, Merge outage, provider outage), until a
    # provisioning pass has considered it: with review after reconnection, that pass holds every change,
    # whichever run (catch-up, webhook, schedule) gets there first.
    break_noted_at = models.DateTimeField(null=True, blank=True)
    # The provider's password-rotation policy for the sync user, to warn before the password expires.
    password_rotation_days = models.PositiveIntegerField(null=True, blank=True)
    rotation_warning_days = models.PositiveIntegerField(default=14)
    rotation_warned_at = models.DateTimeField(null=True, blank=True)
    # Merge's ongoing issues as last seen ({id, error_description, times}); shown to admins, never secrets.
    merge_issues = models.JSONField(default=list, blank=True)
    # Merge's modified_at of the newest record applied; the next run asks only for what changed after it.
    sync_watermark = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(default=timezone.now)
    # Incremental reads can miss a record (a page that left it out, a list that ended early): a periodic
    # full read compares everything, and so does the first run after a relink or a recovery. 0: only then.
    full_read_every_days = models.PositiveSmallIntegerField(default=7)
    last_full_read_at = models.DateTimeField(null=True, blank=True)
    # One run at a time per integration, across workers: a lease that a crashed worker lets expire.
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    # The trigger of a sync asked for while another ran; that run goes round once more under this name.
    sync_requested = models.CharField(max_length=16, blank=True)
    # Set on Disconnect until Merge confirms it deleted the linked account; a scheduled task asks again.
    merge_deletion_requested_at = models.DateTimeField(null=True, blank=True)
    # Who disconnected on purpose, and when: the card says so instead of asking anyone to relink.
    disconnected_at = models.DateTimeField(null=True, blank=True)
    disconnected_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A sync queued and not started yet: requests meanwhile join it (relink.request_sync), so that a burst of
    # webhooks queues one sync. Cleared when a run takes the lease.
    sync_queued = models.CharField(max_length=16, blank=True)
    # The person whose request the next run answers (Sync now, a relink, a connection); taken with the lease.
    sync_requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sync_queued_at = models.DateTimeField(null=True, blank=True)
    # A new connection's first sync is reviewed before it provisions anyone (review.py): while the state is
    # pending or declined its people are read into the directory, and nobody is created, invited or changed.
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, blank=True)
    # What confirming would do, computed by the planner at the end of each complete read while pending.
    review_summary = models.JSONField(default=dict, blank=True)
    review_summary_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = IntegrationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "category"], name="one_integration_per_category"),
            models.UniqueConstraint(fields=["merge_account_id"], name="unique_merge_account"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name} ({self.get_category_display()}) for {self.organization}"

    @property
    def awaiting_review(self) -> bool:
        """The first sync waits for an admin: nothing of this source is provisioned."""
        return self.review_state in (ReviewState.PENDING, ReviewState.DECLINED)

    @property
    def logo(self) -> str:
        return logo_of(self.provider_slug)

    @property
    def origin_id(self) -> str:
        """Merge's end_user_origin_id of this linked account: Merge relinks the account it holds for it."""
        return self.merge_origin_id or self.organization.merge_origin_id

    @property
    def can_sync(self) -> bool:
        return not self.is_paused and not Health(self.health).needs_action

    @property
    def disconnected_on_purpose(self) -> bool:
        return (self.health, self.cause) == (Health.DISCONNECTED, Cause.DISCONNECTED_BY_ADMIN)

    @property
    def full_read_due(self) -> bool:
        if self.last_full_read_at is None:
            return True
        every = dt.timedelta(days=self.full_read_every_days)
        return bool(self.full_read_every_days) and timezone.now() >= self.last_full_read_at + every

    @property
    def status_label(self) -> str:
        return "Paused" if self.is_paused else self.get_health_display()

    @property
    def password_expected_to_expire_at(self) -> dt.datetime | None:
        if not self.password_rotation_days:
            return None
        return self.linked_at + dt.timedelta(days=self.password_rotation_days)

    @property
    def password_expiry_is_near(self) -> bool:
        expires = self.password_expected_to_expire_at
        warn_from = expires - dt.timedelta(days=self.rotation_warning_days) if expires else None
        return warn_from is not None and timezone.now() >= warn_from and not Health(self.health).needs_action

    @property
    def current_event(self) -> "IntegrationEvent | None":
        return self.events.first()

    @property
    def degraded_spell(self) -> "IntegrationEvent | None":
        """The transition into Degraded that began the current spell (a change of cause inside it is the same
        spell); None when not degraded."""
        if self.health != Health.DEGRADED:
            return None
        into = self.events.filter(to_health=Health.DEGRADED).exclude(from_health=Health.DEGRADED)
        return into.first()

    def take_sync_lease(self, seconds: int, *, trigger: str) -> str | None:
        """Returns the trigger this run goes under (a relink's catch-up keeps its name over routine triggers,
        so the admin sees it), or None when another run holds the lease: it is then asked to go round once
        more, so that this request's changes are not lost. Either way the queued sync has started."""
        now = timezone.now()
        with transaction.atomic():
            rows = Integration.objects.select_for_update().filter(pk=self.pk)
            until, requested, queued, by = rows.values_list(
                "sync_lease_until", "sync_requested", "sync_queued", "sync_requested_by"
            ).get()
            started = {"sync_queued": "", "sync_queued_at": None}
            if until is not None and until >= now:
                rows.update(sync_requested=_catch_up_first(requested, trigger, queued), **started)
                return None
            rows.update(
                sync_lease_until=now + dt.timedelta(seconds=seconds),
                sync_requested="",
                sync_requested_by=None,
                **started,
            )
        # Whose request this run answers: the run records it (SyncRun.started_by).
        self.sync_requested_by_id = by
        return _catch_up_first(trigger, queued)

    def forget_queued_sync(self, *, unless_syncable: bool = True) -> bool:
        """A queued sync that will not run (paused, needing a relink, syncs held fleet-wide) is no longer
        pending. With `unless_syncable`, under the row's lock: an integration relinked since this one was
        read can sync, and nothing is forgotten (False), since the relink's catch-up joined this very sync."""
        with transaction.atomic():
            current = Integration.objects.select_for_update().get(pk=self.pk)
            if unless_syncable and current.can_sync:
                return False
            Integration.objects.filter(pk=self.pk).update(
                sync_queued="", sync_queued_at=None, sync_requested_by=None
            )
        return True

    def note_break(self) -> None:
        """The connection broke or was relinked: the next provisioning pass considers everyone, may hold."""
        self.provisioning_pending, self.break_noted_at = True, timezone.now()
        Integration.objects.filter(pk=self.pk).update(
            provisioning_pending=True, break_noted_at=self.break_noted_at
        )

    def break_considered(self) -> None:
        """A provisioning pass considered the break this run started with; one noted since still waits."""
        Integration.objects.filter(pk=self.pk, break_noted_at=self.break_noted_at).update(break_noted_at=None)
        self.break_noted_at = None

    def requeue_sync(self, trigger: str) -> None:
        """The run that took the lease gives it back unstarted and stays queued under its trigger: requests
        meanwhile join it (and one asked while it held the lease is taken along)."""
        with transaction.atomic():
            rows = Integration.objects.select_for_update().filter(pk=self.pk)
            requested = rows.values_list("sync_requested", flat=True).get()
            rows.update(
                sync_lease_until=None,
                sync_requested="",
                sync_queued=_catch_up_first(trigger, requested),
                sync_queued_at=timezone.now(),
            )

    def defer_sync(self, trigger: str) -> None:
        """A sync asked for while syncs are held fleet-wide: it is due, under its trigger, once they resume.
        A relink's catch-up keeps its name over routine triggers."""
        rows = Integration.objects.filter(pk=self.pk)
        rows.update(next_sync_at=timezone.now())
        rows.filter(~models.Q(sync_requested="relink")).update(sync_requested=trigger)

    def extend_sync_lease(self, seconds: int) -> None:
        until = timezone.now() + dt.timedelta(seconds=seconds)
        Integration.objects.filter(pk=self.pk).update(sync_lease_until=until)

    def release_sync_lease(self) -> str:
        """Returns, and clears, the trigger of a sync asked for while this one ran ("" if none)."""
        with transaction.atomic():
            rows = Integration.objects.select_for_update().filter(pk=self.pk)
            requested = rows.values_list("sync_requested", flat=True).get()
            rows.update(sync_lease_until=None, sync_requested="")
        return requested

    def set_health(self, health: Health, cause: Cause = Cause.NONE, detail: str = "") -> bool:
        """Move to a health state; returns whether it changed, so callers notify once per transition."""
        changed = (self.health, self.cause) != (health, cause)
        if changed:
            IntegrationEvent.objects.create(
                integration=self, from_health=self.health, to_health=health, cause=cause, detail=detail
            )
            self.health_changed_at = timezone.now()
            logger.info(
                "integration %s: health %s -> %s (%s)",
                self.pk,
                self.health,
                health,
                cause,
                extra={
                    "event": "health_changed",
                    "integration_id": self.pk,
                    "organization_id": self.organization_id,
                    "from_health": self.health,
                    "to_health": health,
                    "cause": cause,
                },
            )
        self.health, self.cause, self.cause_detail = health, cause, detail
        self.save(update_fields=["health", "cause", "cause_detail", "health_changed_at"])
        return changed


def _catch_up_first(*triggers: str) -> str:
    return Trigger.RELINK if Trigger.RELINK in triggers else next(t for t in triggers if t)


def client_for(integration: Integration) -> MergeClient:
    """The Merge client for the integration's linked account: built here only."""
    return MergeClient(
        category=integration.category,
        account_token=integration.account_token,
        account_id=integration.merge_account_id,
    )


class ReplacementState(models.TextChoices):
    LINKING = "linking", "Waiting for Merge Link"
    READING = "reading", "Reading the new source"
    READY = "ready", "Ready to review"
    FAILED = "failed", "Could not be read"


class Replacement(models.Model):
    """Another linked account of the integration's category, linked beside the current one while an admin
    reviews what switching to it would do (switch.py): read in full, compared with the directory, nothing
    written to it. Confirmed, the integration takes the new account over and the old one is deleted at Merge;
    declined, the new one is. Merge holds one account per origin id and category, so it has an origin id of
    its own."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="replacement")
    origin_id = models.CharField(max_length=64, unique=True)
    state = models.CharField(
        max_length=16, choices=ReplacementState.choices, default=ReplacementState.LINKING
    )
    provider_slug = models.CharField(max_length=64, blank=True)
    provider_name = models.CharField(max_length=128, blank=True)
    merge_account_id = models.CharField(max_length=64, blank=True)
    account_token = EncryptedTextField(blank=True, default="")
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What switching would do (sync/preview.py), as of `summary_at`; why it could not be read.
    summary = models.JSONField(default=dict, blank=True)
    summary_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.provider_name or 'A new source'} to replace {self.integration}"

    @property
    def logo(self) -> str:
        return logo_of(self.provider_slug)

    def client(self) -> MergeClient:
        return MergeClient(
            category=self.integration.category,
            account_token=self.account_token,
            account_id=self.merge_account_id,
        )


class ReplacementMatch(models.Model):
    """A record of the replacement's account found to be a person of the directory: confirming the switch
    gives the person that record (a source identity), so that the switch joins exactly the people shown."""

    replacement = models.ForeignKey(Replacement, on_delete=models.CASCADE, related_name="matches")
    person = models.ForeignKey("directory.Person", on_delete=models.CASCADE, related_name="+")
    merge_id = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=255, blank=True)
    by = models.CharField(max_length=16)  # "work email" or "employee number"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["replacement", "merge_id"], name="one_match_per_record"),
            models.UniqueConstraint(fields=["replacement", "person"], name="one_match_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.merge_id} is person {self.person_id} (by {self.by})"


class RetiredAccount(models.Model):
    """A linked account no integration uses any more (replaced by a switch, or a replacement declined):
    deleted at Merge, asked again on a schedule until Merge confirms it (disconnect.py)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=8, choices=Category.choices)
    merge_account_id = models.CharField(max_length=64)
    account_token = EncryptedTextField()
    provider_name = models.CharField(max_length=128, blank=True)
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Retired {self.provider_name} account {self.merge_account_id}"

    def client(self) -> MergeClient:
        return MergeClient(
            category=self.category, account_token=self.account_token, account_id=self.merge_account_id
        )


class IntegrationEvent(models.Model):
    """The history of an integration's health, newest first."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_health = models.CharField(max_length=16, choices=Health.choices)
    to_health = models.CharField(max_length=16, choices=Health.choices)
    cause = models.CharField(max_length=32, choices=Cause.choices, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_health} -> {self.to_health} at {self.at:%Y-%m-%d %H:%M}"


class WebhookDelivery(models.Model):
    """A Merge webhook already processed; a retried delivery has the same body, so the same digest."""

    digest = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=64)
    account_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event} at {self.received_at:%Y-%m-%d %H:%M}"


class PlatformIncident(models.Model):
    """A fault of the platform, not of one organization's connection (Merge unreachable, our API key
    rejected): one incident for the fleet and its staff, not an alarm per organization."""

    kind = models.CharField(max_length=32, choices=IncidentKind.choices, default=IncidentKind.MERGE_OUTAGE)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # Workers that notice the same fault at once open one incident, not one each.
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(ended_at__isnull=True), name="one_open_incident_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.started_at:%Y-%m-%d %H:%M}"

    @classmethod
    def current(cls, kind: IncidentKind | None = None) -> "PlatformIncident | None":
        open_incidents = cls.objects.filter(ended_at__isnull=True)
        return (open_incidents.filter(kind=kind) if kind else open_incidents).first()

    @classmethod
    def api_key_rejected(cls) -> bool:
        """While Merge rejects our API key, no sync is sent: each would only fail and add to Merge's count."""
        return cls.objects.filter(ended_at__isnull=True, kind=IncidentKind.API_KEY_REJECTED).exists()


class DelegationStatus(models.TextChoices):
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class DelegatedRelink(models.Model):
    """A magic link sent to the IT administrator who holds the provider's service account."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="delegations")
    email = models.EmailField()
    # Our own link wraps Merge's so that opening is tracked and revoking works.
    token = models.CharField(max_length=64, unique=True)
    magic_link_url = EncryptedTextField()
    status = models.CharField(max_length=16, choices=DelegationStatus.choices, default=DelegationStatus.SENT)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"Relink link for {self.email} ({self.status})"

    @property
    def is_live(self) -> bool:
        return (
            self.status in (DelegationStatus.SENT, DelegationStatus.OPENED)
            and self.expires_at > timezone.now()
        )


class SupportRequest(models.Model):
    """'Still not syncing?': what the admin wrote, with a diagnostics bundle that holds no secrets."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="support_requests")
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    message = models.TextField(blank=True)
    diagnostics = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Support request {self.pk} for {self.integration}"


class HandoffStatus(models.TextChoices):
    LEAVING = "leaving", "Is leaving"
    LEFT = "left", "Has left"
    TAKEN_OVER = "taken_over", "Taken over"
    CLOSED = "closed", "No longer needed"


class Handoff(models.Model):
    """The owner of a connection (who linked or last relinked it) is leaving or has left: the other admins are
    asked, once per leaving, to take it over, so that alerts and relinks have someone who answers."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="handoffs")
    owner = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    owner_name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=HandoffStatus.choices, default=HandoffStatus.LEAVING)
    opened_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration"],
                condition=models.Q(status__in=["leaving", "left"]),
                name="one_open_handoff_per_integration",
            )
        ]

    def __str__(self) -> str:
        return f"Handoff of {self.integration} from {self.owner_name} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (HandoffStatus.LEAVING, HandoffStatus.LEFT)

"""Who an organization provisions, its safeguards, and the changes held for an admin's review."""

from django.db import models
from django.utils import timezone


class ProvisioningPolicy(models.Model):
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="policy"
    )
    # Empty lists mean "any". Defaults: active people with a work email.
    employment_statuses = models.JSONField(default=list, blank=True)
    employment_types = models.JSONField(default=list, blank=True)
    departments = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True)
    send_invitations = models.BooleanField(default=True)
    mass_deactivation_percent = models.PositiveSmallIntegerField(default=20)
    mass_deactivation_minimum_users = models.PositiveIntegerField(default=10)
    review_after_reconnection = models.BooleanField(default=False)
    # A pre-hire (start date ahead) gets a user and an invitation this many days before starting, not sooner.
    invite_days_before_start = models.PositiveSmallIntegerField(default=7)

    def __str__(self) -> str:
        return f"Provisioning policy of {self.organization}"

    def admits(
        self, *, status: str, employment_type: str | None, department: str | None, location: str | None
    ) -> bool:
        """None: the person's source does not supply that field, so its filter does not apply to them."""
        return (
            status in (self.employment_statuses or ["ACTIVE"])
            and _within(self.employment_types, employment_type)
            and _within(self.departments, department)
            and _within(self.locations, location)
        )


def _within(allowed: list[str], value: str | None) -> bool:
    return not allowed or value is None or value in allowed


class ChangeKind(models.TextChoices):
    CREATE = "create", "Create user"
    REACTIVATE = "reactivate", "Reactivate user"
    DEACTIVATE = "deactivate", "Deactivate user"
    CHANGE_EMAIL = "change_email", "Change sign-in email"
    UPDATE = "update", "Update name or profile"


class HoldReason(models.TextChoices):
    MASS_DEACTIVATION = "mass_deactivation", "Mass-deactivation safeguard"
    RECONNECTION_REVIEW = "reconnection_review", "Review after reconnection"
    NEW_EVIDENCE = "new_evidence", "New evidence since a rejection"
    EMAIL_TAKEN = "email_taken", "The address belongs to another user"
    NOT_SEEN = "not_seen", "Not seen at the source"


class HoldStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RELEASED = "released", "Released (no longer needed)"


class HeldChange(models.Model):
    """A provisioning change that waits for an admin instead of applying."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="held")
    person = models.ForeignKey("directory.Person", on_delete=models.CASCADE, related_name="held_changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    reason = models.CharField(max_length=32, choices=HoldReason.choices)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    evidence = models.CharField(max_length=255, blank=True)
    # The facts decided on (Candidate.evidence_key): a rejection holds until they change.
    evidence_key = models.CharField(max_length=128, blank=True)
    # A held profile change (profiles.py): field -> [last applied, held value]; the manager by person id.
    profile = models.JSONField(default=dict, blank=True)
    # The rejected change this one asks about again, now that the evidence changed.
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # The review queue pages through what waits, newest first (a mass hold is tens of thousands).
        indexes = [
            models.Index(
                fields=["organization", "status", "-created_at", "-id"], name="held_org_status_newest"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_change_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person} ({self.get_status_display()})"

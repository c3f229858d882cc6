from django.db import models


class Category(models.TextChoices):
    HRIS = "hris", "HRIS"
    CRM = "crm", "CRM"


class Health(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    # Relinked, and the catch-up run that applies what changed meanwhile has not finished yet. Stored as
    # "catching_up" (it was "syncing", which reads as any run): name, value and label say the same thing.
    CATCHING_UP = "catching_up", "Relinked, catching up"
    DEGRADED = "degraded", "Degraded"
    RELINK_NEEDED = "relink_needed", "Relink needed"
    DISCONNECTED = "disconnected", "Disconnected"

    @property
    def needs_action(self) -> bool:
        return self in {Health.RELINK_NEEDED, Health.DISCONNECTED}


class Cause(models.TextChoices):
    """Why a connection broke, named as the help article names it."""

    NONE = "", "None"
    EXPIRED_CREDENTIALS = "expired_credentials", "Expired API or sync user credentials"
    PASSWORD_RESET = "password_reset", "Password reset for the linked user account"
    MERGE_OUTAGE = "merge_outage", "Merge.dev platform outage"
    PROVIDER_OUTAGE = "provider_outage", "Provider outage"
    MISSING_PERMISSIONS = "missing_permissions", "Missing permissions"
    EXPIRED_MFA = "expired_mfa", "Expired multi-factor authentication"
    ACCOUNT_DELETED = "account_deleted", "Linked account deleted"
    DISCONNECTED_BY_ADMIN = "disconnected_by_admin", "Disconnected by an admin"
    OTHER = "other", "Other"


class IncidentKind(models.TextChoices):
    """What a platform incident is about: Skillibrium staff act on each differently."""

    MERGE_OUTAGE = "merge_outage", "Merge.dev unreachable"
    API_KEY_REJECTED = "api_key_rejected", "Merge rejects Skillibrium's API key"


class Trigger(models.TextChoices):
    """What asked for a sync run; a label for admins. What a run may apply is decided by the integration's
    state (a break it lived through), never by this name."""

    SCHEDULE = "schedule", "Schedule"
    ADMIN = "admin", "Sync now"
    RELINK = "relink", "Catch-up after relink"
    WEBHOOK = "webhook", "Merge webhook"
    SETUP = "setup", "First sync"
    CLI = "cli", "Command line"


class ReviewState(models.TextChoices):
    """A new connection's first sync, reviewed before anything is provisioned ("": not reviewed, never was
    asked to be: connections made before the review existed, seeds, relinks)."""

    NONE = "", "Not reviewed"
    PENDING = "pending", "Waiting for review"
    DECLINED = "declined", "Declined"
    CONFIRMED = "confirmed", "Confirmed"

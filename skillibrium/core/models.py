from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """Who did what to the organization's integrations and people, and when."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="audit", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        # The audit log pages through one organization's entries, newest first.
        indexes = [models.Index(fields=["organization", "-at", "-id"], name="audit_org_newest_first")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"


def record(
    *, organization_id: int, action: str, actor_id: int | None = None, target: str = "", **detail: object
) -> None:
    # The audit log is read by admins and support: a secret passed here by mistake is stored masked.
    from skillibrium.core.diagnostics import MASK, SENSITIVE_NAME

    safe = {k: MASK if SENSITIVE_NAME.search(k) else v for k, v in detail.items()}
    AuditEntry.objects.create(
        organization_id=organization_id, actor_id=actor_id, action=action, target=target, detail=safe
    )

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.utils import timezone

# The sync run whose work is being recorded, if any: every entry written meanwhile names it.
_current_run: ContextVar[int | None] = ContextVar("audit_run", default=None)


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
    # The sync run that made the change (not a foreign key: the ground floor knows no upper app, and an
    # entry outlives the runs that are pruned).
    run_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        # The audit log pages through one organization's entries, newest first, or those of one action (whose
        # first column also lists the organization's actions for the filter menu). A trigram index on
        # UPPER(target) serves its search on PostgreSQL (migration 0005).
        indexes = [
            models.Index(fields=["organization", "-at", "-id"], name="audit_org_newest_first"),
            models.Index(fields=["organization", "action", "-at", "-id"], name="audit_org_action_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"


def record(
    *, organization_id: int, action: str, actor_id: int | None = None, target: str = "", **detail: object
) -> None:
    # The audit log is read by admins and support: a secret passed here by mistake is stored masked.
    from skillibrium.core.diagnostics import MASK, SENSITIVE_NAME

    safe = {k: MASK if SENSITIVE_NAME.search(k) else v for k, v in detail.items()}
    AuditEntry.objects.create(
        organization_id=organization_id,
        actor_id=actor_id,
        action=action,
        target=target,
        detail=safe,
        run_id=current_run(),
    )


def current_run() -> int | None:
    return _current_run.get()


@contextmanager
def recording_run(run_id: int) -> Iterator[None]:
    """Audit entries written inside this block, by any module, carry the run's id."""
    token = _current_run.set(run_id)
    try:
        yield
    finally:
        _current_run.reset(token)

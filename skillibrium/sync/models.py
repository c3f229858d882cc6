import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from django.db import models
from django.utils import timezone

from skillibrium.integrations.choices import Trigger

logger = logging.getLogger(__name__)


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PAUSED = "paused", "Paused (connection needs attention)"


# The counters a running sync saves as each batch commits: what its pages and the command line show meanwhile,
# and what its finishing log event carries.
PROGRESS_FIELDS = (
    "pages",
    "requests",
    "rate_limited",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "provisioned",
    "deactivated",
    "held",
)

# What a run spends its time on, in order: reading pages from Merge, mapping them to directory rows, writing
# them, provisioning the people they wrote, the end-of-run pass (deactivations, holds, the sweep), recording.
PHASES = {
    "fetch": "Fetch from Merge",
    "map": "Map records",
    "upsert": "Write the directory",
    "provision": "Provision users",
    "deactivate": "Deactivate and hold",
    "record": "Record the outcome",
}


class SyncRun(models.Model):
    """One sync of one integration: what triggered it, what it fetched and changed, and how it ended."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # Who asked for it (Sync now, a relink, a connection); none for the schedule, a webhook, the CLI.
    started_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    modified_after = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0, help_text="people added to the directory")
    updated = models.PositiveIntegerField(default=0, help_text="people whose record changed")
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="records that could not be used")
    provisioned = models.PositiveIntegerField(default=0, help_text="Skillibrium users created")
    deactivated = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0, help_text="deactivations held for review")
    record_errors = models.JSONField(default=list, blank=True)
    # Seconds spent in each phase (PHASES); fetching overlaps the writes, so they need not add up.
    phases = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # A run stopped by an unexpected error records where, for support: never the next run's guess.
    traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        # All runs, newest first, a page at a time by (started_at, id): one index range, however many.
        indexes = [models.Index(fields=["integration", "-started_at", "-id"], name="run_history")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} run {self.pk}: {self.status}"

    @property
    def duration(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @property
    def is_running(self) -> bool:
        return self.status == RunStatus.RUNNING

    @property
    def people_read(self) -> int:
        return self.created + self.updated + self.unchanged

    def counts(self) -> list[tuple[str, int]]:
        """What a run's progress and summary say, in this order, on the pages and in the command line.
        Merge's lists give no total, so pages read are counted without one."""
        return [
            ("pages read", self.pages),
            ("people read", self.people_read),
            ("new", self.created),
            ("changed", self.updated),
            ("users created", self.provisioned),
            ("deactivated", self.deactivated),
            ("held", self.held),
            ("skipped", self.skipped),
        ]

    def save_progress(self) -> None:
        """One UPDATE of the counters alone, after a batch commits: cheap enough for every batch, and nothing
        else of the row (its status, warnings) is written back from memory."""
        SyncRun.objects.filter(pk=self.pk).update(**{name: getattr(self, name) for name in PROGRESS_FIELDS})

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        """Adds the time spent inside the block to the phase: two clock reads, whatever the block does."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = round(self.phases.get(phase, 0) + time.perf_counter() - start, 3)

    def skip(self, record: Any, error: Exception) -> None:
        self.skipped += 1
        if len(self.record_errors) < 100:
            record_id = record.get("id") if isinstance(record, dict) else None
            self.record_errors.append({"id": str(record_id), "error": str(error)[:300]})

    def finish(self, status: RunStatus, error: str = "") -> Self:
        self.status, self.error, self.finished_at = status, error, timezone.now()
        self.save()
        counts = {name: getattr(self, name) for name in PROGRESS_FIELDS}
        logger.info(
            "sync run %s of integration %s: %s in %.1f s %s",
            self.pk,
            self.integration_id,
            status,
            self.duration or 0,
            " ".join(f"{name}={value}" for name, value in counts.items()),
            extra={
                "event": "sync_run_finished",
                "run_id": self.pk,
                "integration_id": self.integration_id,
                "trigger": self.trigger,
                "status": status,
                "duration_s": round(self.duration or 0, 3),
                "counts": counts,
            },
        )
        return self


class RunAction(models.TextChoices):
    CREATED = "created", "Added to the directory"
    UPDATED = "updated", "Record changed"
    PROVISIONED = "provisioned", "User created"
    REACTIVATED = "reactivated", "User reactivated"
    USER_UPDATED = "user_updated", "User's name or email changed"
    DEACTIVATED = "deactivated", "User deactivated"
    HELD = "held", "Held for review"
    SKIPPED = "skipped", "Skipped"


class RunEntry(models.Model):
    """What a run did to one person, and why: the run detail's per-person log, written a batch at a time."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="entries", db_index=False)
    person = models.ForeignKey(
        "directory.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="run_entries"
    )
    source_id = models.CharField(max_length=64, blank=True)  # Merge's id of the record, when it came from one
    # As the run saw them: searched without a join, and kept when the person is gone.
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=16, choices=RunAction.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "run entries"
        # The run detail pages through one run's entries by id, all of them or those of one action.
        indexes = [
            models.Index(fields=["run", "id"], name="run_entry_by_run"),
            models.Index(fields=["run", "action", "id"], name="run_entry_by_action"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.name or self.email or self.source_id}"

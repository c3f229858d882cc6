"""Recent syncs as an admin reads them: routine syncs that changed nothing (one per webhook, say) fold into
one row, so that the failed runs and the catch-up after a relink stay in view."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from skillibrium.integrations.choices import Trigger

from .models import RunStatus, SyncRun

ROUTINE = (Trigger.WEBHOOK, Trigger.SCHEDULE)
READ = 200  # runs read to fill the rows: a longer quiet spell shows as this many


@dataclass
class QuietSpell:
    """Consecutive routine syncs that succeeded and changed nothing, newest first."""

    runs: list[SyncRun] = field(default_factory=list)
    folded = True

    @property
    def count(self) -> int:
        return len(self.runs)

    @property
    def started_at(self) -> datetime:
        return self.runs[-1].started_at

    @property
    def ended_at(self) -> datetime:
        newest = self.runs[0]
        return newest.finished_at or newest.started_at

    @property
    def triggers(self) -> str:
        labels = {run.get_trigger_display() for run in self.runs}
        return ", ".join(sorted(labels))


def changed_nothing(run: SyncRun) -> bool:
    counts = (run.created, run.updated, run.provisioned, run.deactivated, run.held, run.skipped)
    return (
        run.status == RunStatus.SUCCEEDED
        and run.trigger in ROUTINE
        and not any(counts)
        and not run.warnings
        and not run.error
    )


def recent_rows(runs: "QuerySet[SyncRun]", limit: int = 10) -> list[SyncRun | QuietSpell]:
    """The newest `limit` rows: each run, except that routine runs that changed nothing, one after the
    other, are one row (a single such run stays a run)."""
    rows: list[SyncRun | QuietSpell] = []
    for run in runs[:READ]:
        quiet = changed_nothing(run)
        if quiet and rows and isinstance(rows[-1], QuietSpell):
            rows[-1].runs.append(run)
            continue
        if len(rows) == limit:
            break
        rows.append(QuietSpell([run]) if quiet else run)
    return [row.runs[0] if isinstance(row, QuietSpell) and row.count == 1 else row for row in rows]


def runs_in(rows: list[SyncRun | QuietSpell]) -> list[SyncRun]:
    """Every run the rows show, newest first: a quiet spell's one by one."""
    return [run for row in rows for run in (row.runs if isinstance(row, QuietSpell) else [row])]

"""A run's per-person log: what each batch did to whom, and why, written with the batch in one COPY.

Entries name the run explicitly (the directory's writes) or the run being recorded (provisioning's writes,
through core's `current_run`); outside a run (an admin's decision, a review confirmed) nothing is logged."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from skillibrium.core.bulk import insert_rows
from skillibrium.core.models import current_run

from .models import RunAction, RunEntry

# (person id, Merge id of the record, name, email, details)
type Entry = tuple[int | None, str, str, str, Mapping[str, Any]]

COLUMNS = ["run", "person", "source_id", "name", "email", "action", "details"]


def write(action: RunAction, entries: Iterable[Entry], *, run_id: int | None = None) -> int:
    """Logs these entries under the run; returns how many."""
    run_id = run_id if run_id is not None else current_run()
    if run_id is None:
        return 0
    rows = [
        (run_id, person, source_id[:64], name[:300], email[:254], action, dict(details))
        for person, source_id, name, email, details in entries
    ]
    insert_rows(RunEntry, COLUMNS, rows)
    return len(rows)


def shown(value: Any) -> Any:
    """A value as the log keeps it (JSON): dates as ISO dates."""
    return value.isoformat() if isinstance(value, dt.date) else value


def changed_fields(
    fields: Sequence[str], before: Sequence[Any], after: Sequence[Any]
) -> dict[str, list[Any]]:
    """field -> [old, new], for the fields whose value differs."""
    return {
        name: [shown(old), shown(new)]
        for name, old, new in zip(fields, before, after, strict=True)
        if old != new
    }


def full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()

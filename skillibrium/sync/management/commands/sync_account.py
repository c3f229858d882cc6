from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeError
from skillibrium.sync.engine import preview_sync, sync_integration
from skillibrium.sync.models import SyncRun


class Command(BaseCommand):
    help = "Sync integrations now (or preview with --dry-run), with progress and a summary table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="Every integration.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what a sync would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["integration_ids"]
        if options["all"]:
            ids = list(Integration.objects.order_by("pk").values_list("pk", flat=True))
        if not ids:
            raise CommandError("Name an integration id, or pass --all.")
        missing = set(ids) - set(Integration.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing:
            raise CommandError(f"No integration with id {', '.join(map(str, sorted(missing)))}.")
        console = Console(file=cast(IO[str], self.stdout), width=120)
        table = Table(
            "integration",
            "result",
            "pages",
            "requests",
            "new",
            "changed",
            "users created",
            "deactivated",
            "held",
            "skipped",
            "seconds",
            title="Dry run" if options["dry_run"] else "Sync",
        )
        for integration_id in ids:
            integration = Integration.objects.get(pk=integration_id)
            name = f"{integration_id} {integration.provider_name} ({integration.organization})"
            if options["dry_run"]:
                self._preview(table, integration_id, name)
                continue
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),  # Merge's lists give no total: the bar pulses while pages arrive
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(f"{name}: starting", total=None)

                def show(run: SyncRun, task: Any = task, bar: Progress = bar, name: str = name) -> None:
                    bar.update(task, description=f"{name}: {progress_line(run)}")

                run = sync_integration(integration_id=integration_id, trigger=Trigger.CLI, progress=show)
            if run is None:
                table.add_row(name, "skipped: another sync is running", *[""] * 9)
                self.stderr.write(f"{name}: skipped, another sync is running; a follow-up is queued.")
                continue
            table.add_row(
                name,
                run.status + (f": {run.error}" if run.error else ""),
                *map(
                    str,
                    [
                        run.pages,
                        run.requests,
                        run.created,
                        run.updated,
                        run.provisioned,
                        run.deactivated,
                        run.held,
                        run.skipped,
                        f"{run.duration or 0:.1f}",
                    ],
                ),
            )
        console.print(table)

    def _preview(self, table: Table, integration_id: int, name: str) -> None:
        try:
            preview = preview_sync(integration_id=integration_id)
        except MergeError as error:
            table.add_row(name, f"not previewed: {error}", *[""] * 9)
            return
        run, changes = preview.run, preview.changes
        table.add_row(
            name,
            "would change",
            *map(
                str,
                [
                    run.pages,
                    run.requests,
                    run.created,
                    run.updated,
                    changes.created,
                    changes.deactivated,
                    changes.held,
                    run.skipped,
                    "",
                ],
            ),
        )


def progress_line(run: SyncRun) -> str:
    """The counters a run saved with its last batch, as its Edit page shows them."""
    return ", ".join(f"{count:,} {label}" for label, count in run.counts())

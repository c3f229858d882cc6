from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from skillibrium.sync.models import SyncRun


class Command(BaseCommand):
    help = "Show recent sync runs, newest first (all integrations, or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_id", nargs="?", type=int)
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        runs = SyncRun.objects.select_related("integration__organization")
        if options["integration_id"]:
            runs = runs.filter(integration_id=options["integration_id"])
        table = Table(
            "run",
            "integration",
            "trigger",
            "started",
            "status",
            "pages",
            "requests",
            "new",
            "changed",
            "users created",
            "deactivated",
            "held",
            "skipped",
            "seconds",
            "error",
        )
        for run in runs[: options["limit"]]:
            table.add_row(
                *map(
                    str,
                    [
                        run.pk,
                        f"{run.integration_id} {run.integration.provider_name}",
                        run.trigger,
                        f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                        run.status,
                        run.pages,
                        run.requests,
                        run.created,
                        run.updated,
                        run.provisioned,
                        run.deactivated,
                        run.held,
                        run.skipped,
                        f"{run.duration or 0:.1f}",
                        run.error[:60],
                    ],
                )
            )
        Console(file=cast(IO[str], self.stdout), width=200).print(table)

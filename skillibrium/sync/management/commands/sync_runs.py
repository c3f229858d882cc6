from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from skillibrium.accounts.templatetags.zones import label_of
from skillibrium.accounts.time_zones import zone_of
from skillibrium.sync.models import SyncRun


def started_in_zone(run: SyncRun) -> str:
    """When the run started, in its organization's zone and labelled, as the pages show it."""
    local = run.started_at.astimezone(zone_of(run.integration.organization))
    return f"{local:%Y-%m-%d %H:%M:%S} {label_of(local)}"


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
                        started_in_zone(run),
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

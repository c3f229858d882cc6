from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skillibrium.integrations.models import Integration
from skillibrium.sync.engine import sync_integration
from skillibrium.sync.models import Trigger


class Command(BaseCommand):
    help = "Sync one integration (by id) or all of them now, in this process, and print each run's result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="Sync every integration.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["integration_ids"]
        if options["all"]:
            ids = list(Integration.objects.order_by("pk").values_list("pk", flat=True))
        if not ids:
            raise CommandError("Name an integration id, or pass --all.")
        for integration_id in ids:
            if not Integration.objects.filter(pk=integration_id).exists():
                raise CommandError(f"No integration with id {integration_id}.")
            run = sync_integration(integration_id=integration_id, trigger=Trigger.CLI)
            if run is None:
                self.stdout.write(f"integration {integration_id}: skipped, another sync is running")
                continue
            self.stdout.write(
                f"integration {integration_id}: {run.status}; {run.pages} pages, {run.created} created, "
                f"{run.updated} updated, {run.deactivated} deactivated, {run.skipped} skipped"
                + (f"; {run.error}" if run.error else "")
            )

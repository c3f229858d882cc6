from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from skillibrium.demo.data import seed_demo, sync_users
from skillibrium.integrations.choices import Trigger
from skillibrium.sync.engine import sync_integration


class Command(BaseCommand):
    help = "Create the demo organization and link it to an HRIS tenant in the running Merge sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=int, default=300, help="People in the demo HRIS tenant.")
        parser.add_argument("--provider", default="workday", help="workday, bamboohr or hibob.")
        parser.add_argument("--crm", default="salesforce", help="salesforce, hubspot, or '' for none.")
        parser.add_argument("--sync", action="store_true", help="Run the first sync now, in this process.")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = seed_demo(size=options["size"], provider=options["provider"], crm=options["crm"])
        for integration in seed.organization.integrations.filter(last_successful_sync_at__isnull=True):
            if not options["sync"]:
                break
            run = sync_integration(integration_id=integration.pk, trigger=Trigger.SETUP)
            if run is not None:
                self.stdout.write(
                    f"First {integration.provider_name} sync: {run.status}, {run.provisioned} users created."
                )
        if options["verbosity"] < 1:
            return
        self.stdout.write(f"Organization: {seed.organization.name}")
        self.stdout.write(f"Admin: {seed.admin_email} / {seed.password}")
        self.stdout.write(f"Member: {seed.member_email} / {seed.password}")
        for user in sync_users(seed.organization):
            self.stdout.write(
                f"{user.category} sync user in the sandbox: {user.username} / {user.password} "
                f"(tenant {user.tenant})"
            )

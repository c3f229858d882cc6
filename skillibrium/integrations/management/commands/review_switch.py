from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skillibrium.integrations import switch
from skillibrium.integrations.models import Integration, ReplacementState

LINES = (
    ("records", "People in the new source"),
    ("matched", "Matched to the directory's people"),
    ("new", "New people"),
    ("only_in_old", "Only in the current source (kept, never deactivated for it)"),
    ("leaving", "Users who left, per the new source"),
    ("duplicates", "Work emails shared by two or more new records"),
    ("without_email", "New records without a work email"),
    ("elsewhere", "Email belongs to a user of another organization"),
)


class Command(BaseCommand):
    help = "Show what switching an integration to its replacement does; confirm or decline the switch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_id", type=int)
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--confirm", action="store_true", help="Switch to the replacement.")
        decision.add_argument("--decline", action="store_true", help="Keep the current source.")

    def handle(self, *args: Any, **options: Any) -> None:
        integration = Integration.objects.select_related("organization").filter(pk=options["integration_id"])
        found = integration.first()
        if found is None:
            raise CommandError(f"No integration with id {options['integration_id']}.")
        replacement = switch.replacement_of(found)
        if replacement is None or replacement.state == ReplacementState.LINKING:
            raise CommandError(f"{found}: no replacement is linked.")
        if options["decline"]:
            switch.decline(integration=found, membership=None)
            self.stdout.write(self.style.WARNING(f"Declined: {found.provider_name} stays."))
            return
        if replacement.state != ReplacementState.READY:
            why = f": {replacement.error}" if replacement.error else ""
            raise CommandError(f"{replacement}: {replacement.get_state_display().lower()}{why}")
        self.stdout.write(f"Switch from {found.provider_name} to {replacement.provider_name}")
        for key, label in LINES:
            self.stdout.write(f"  {label}: {replacement.summary.get(key, 0)}")
            examples = replacement.summary.get(f"{key}_examples", [])[:10]
            for example in examples:
                self.stdout.write(f"      {example}")
            if examples and replacement.summary.get(key, 0) > len(examples):
                self.stdout.write(f"      and {replacement.summary[key] - len(examples)} more")
        if options["confirm"]:
            if switch.confirm(integration=found, membership=None):
                self.stdout.write(
                    self.style.SUCCESS(f"Switched to {found.provider_name}; its first sync is queued.")
                )
            else:
                self.stdout.write("Nothing to switch; nothing was done.")
        else:
            self.stdout.write("Nothing was changed. Pass --confirm or --decline.")

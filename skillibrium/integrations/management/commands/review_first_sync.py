from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skillibrium.integrations import review
from skillibrium.integrations.models import Integration
from skillibrium.provisioning import first_sync

LINES = (
    ("people", "People found"),
    ("create", "Users to create"),
    ("matched", "Existing users matched"),
    ("already_linked", "  Already linked"),
    ("linked_by_email", "  By work email"),
    ("reactivate", "Users reactivated"),
    ("update", "Names updated"),
    ("deactivate", "Users deactivated"),
    ("elsewhere", "Email belongs to a user of another organization"),
    ("duplicates", "Work emails shared by two or more records"),
    ("without_email", "Records without a work email"),
)


class Command(BaseCommand):
    help = (
        "Show a new connection's first-sync summary (what confirming provisions); confirm it, with or "
        "without invitations, or decline it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_id", type=int)
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--confirm", action="store_true", help="Provision everyone once.")
        decision.add_argument("--decline", action="store_true", help="Provision nobody; keep waiting.")
        decision.add_argument(
            "--recompute", action="store_true", help="Compute the summary again with the filters in effect."
        )
        parser.add_argument(
            "--no-invitations", action="store_true", help="With --confirm: create users, email nobody."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        integration = Integration.objects.select_related("organization").filter(pk=options["integration_id"])
        found = integration.first()
        if found is None:
            raise CommandError(f"No integration with id {options['integration_id']}.")
        if options["no_invitations"] and not options["confirm"]:
            raise CommandError("--no-invitations goes with --confirm.")
        if not review.needs_review(found):
            raise CommandError(f"{found}: its first sync is not waiting for review.")
        if options["recompute"]:
            first_sync.store_summary(found)
        summary = first_sync.summary(found)
        if not summary:
            raise CommandError(f"{found}: the first sync has not finished reading; try again once it has.")
        self._show(found, summary)
        if options["confirm"]:
            invite = not options["no_invitations"]
            if review.confirm(integration=found, membership=None, send_invitations=invite):
                told = "with invitations" if invite else "without invitations"
                self.stdout.write(self.style.SUCCESS(f"Confirmed: everyone is being provisioned, {told}."))
            else:
                self.stdout.write("Confirmed already; nothing was done again.")
        elif options["decline"]:
            review.decline(integration=found, membership=None)
            self.stdout.write(self.style.WARNING("Declined: nobody was provisioned."))
        else:
            self.stdout.write("Nothing was changed. Pass --confirm (and --no-invitations) or --decline.")

    def _show(self, integration: Integration, summary: dict[str, Any]) -> None:
        self.stdout.write(f"First sync of {integration} ({integration.get_review_state_display()})")
        for key, label in LINES:
            self.stdout.write(f"  {label}: {summary.get(key, 0)}")
            indent = " " * (len(label) - len(label.lstrip()) + 4)
            examples = summary.get(f"{key}_examples", [])[:10]
            for example in examples:
                self.stdout.write(f"{indent}{example if isinstance(example, str) else example[0]}")
            if examples and summary.get(key, 0) > len(examples):
                self.stdout.write(f"{indent}and {summary[key] - len(examples)} more")
        for name, value in summary.get("filters", {}).items():
            shown = ", ".join(value) if isinstance(value, list) else value
            self.stdout.write(f"  Filter {name.replace('_', ' ')}: {shown or 'any'}")
        self.stdout.write(f"  Invitations by default: {'on' if summary.get('send_invitations') else 'off'}")

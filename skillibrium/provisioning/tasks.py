from django.tasks import task

from skillibrium.integrations.models import Integration

from . import first_sync
from .apply import provision_organization, reviews_after_break


@task
def provision_everyone(organization_id: int, send_invitations: bool | None = None) -> int:
    """After a policy change everyone is considered again; filters only admit, they never deactivate. While
    a break is not yet reviewed this pass holds what it would change, as the run after the break does.
    `send_invitations`: a first sync's review chose whether its new users are invited."""
    unreviewed = Integration.objects.filter(organization_id=organization_id, break_noted_at__isnull=False)
    hold = unreviewed.exists() and reviews_after_break(organization_id)
    changes = provision_organization(
        organization_id=organization_id, hold_for_review=hold, invite=send_invitations
    )
    first_sync.recompute_waiting(organization_id)  # a first sync waiting for review shows the filters' effect
    return changes.created

from django.tasks import task

from .apply import provision_organization


@task
def provision_everyone(organization_id: int) -> int:
    """After a policy change everyone is considered again; filters only admit, they never deactivate."""
    return provision_organization(organization_id=organization_id).created

from django.tasks import task

from .services import send_invitation_emails


@task
def send_invitations(user_ids: list[int]) -> int:
    return send_invitation_emails(user_ids=user_ids)

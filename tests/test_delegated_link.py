"""The delegated relink link: opened only by its recipient's action; revoking says what Merge still allows."""

import datetime as dt
import secrets

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Role, User
from skillibrium.core.models import AuditEntry
from skillibrium.integrations.models import DelegatedRelink, DelegationStatus

from .factories import make_integration, make_org, make_user, signed_in

pytestmark = pytest.mark.django_db

MAGIC = "https://link.merge.example/link/m/magic-token-123"


def sent_link() -> tuple[DelegatedRelink, User]:
    integration = make_integration(make_org())
    admin = make_user(integration.organization, role=Role.ADMIN)
    link = DelegatedRelink.objects.create(
        integration=integration,
        email="it@example.com",
        token=secrets.token_urlsafe(16),
        magic_link_url=MAGIC,
        created_by=admin,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )
    return link, admin


def test_a_link_scanners_get_does_not_open_the_link_the_recipients_post_does() -> None:
    """Issue item 13: mail gateways fetch every link with GET; that shows a page with a button and counts
    nothing, and reveals no Merge link. The recipient's POST marks it opened and moves on to Merge's link."""
    link, _ = sent_link()
    url = reverse("integrations:delegated_open", args=[link.token])

    for _ in range(3):
        page = Client().get(url)
        assert page.status_code == 200 and MAGIC not in page.content.decode()
    link.refresh_from_db()
    assert (link.status, link.opened_at) == (DelegationStatus.SENT, None)
    assert f'<form method="post" action="{url}">' in page.content.decode()

    moved_on = Client().post(url)

    link.refresh_from_db()
    assert link.status == DelegationStatus.OPENED and link.opened_at is not None
    assert f'content="0; url={MAGIC}"' in moved_on.content.decode()
    assert Client().get(url).status_code == 200  # still usable until it expires or is revoked


def test_revoking_ends_our_link_forgets_merges_and_says_merges_stays_valid_once_revealed() -> None:
    """Issue item 13: Merge documents no way to end a magic link early. Revoking ends Skillibrium's link and
    forgets Merge's; if the recipient had already opened it (Merge's address revealed), the admin is told that
    Merge's page stays usable until the link expires."""
    link, admin = sent_link()
    unopened, _ = sent_link()
    url = reverse("integrations:delegated_open", args=[link.token])
    Client().post(url)

    def revoke(target: DelegatedRelink) -> str:
        action = reverse("integrations:delegation_action", args=[target.integration_id, target.pk])
        response = signed_in(target.created_by).post(action, {"action": "revoke"}, follow=True)
        return " ".join(str(m) for m in get_messages(response.wsgi_request))

    told = revoke(link)
    told_unopened = revoke(unopened)

    link.refresh_from_db()
    assert link.status == DelegationStatus.REVOKED and link.magic_link_url == ""
    assert "Merge's own page stays usable until" in told and "no way to end a magic link early" in told
    assert "no longer works" in told_unopened and "stays usable" not in told_unopened
    assert Client().get(url).status_code == 410 and Client().post(url).status_code == 410
    entry = AuditEntry.objects.get(
        action="relink.delegation_revoked", organization=link.integration.organization
    )
    assert entry.detail["merge_link_revealed"] is True
    page = signed_in(admin).get(reverse("integrations:edit", args=[link.integration_id])).content.decode()
    assert "Merge.dev offers no way to end its own magic link early" in page

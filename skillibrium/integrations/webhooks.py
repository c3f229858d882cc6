"""Merge's webhooks: verify the signature, process each delivery once, and turn it into a sync or a state."""

import base64
import hashlib
import hmac
import logging

import orjson
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from skillibrium.merge_client import MergeError

from . import issues as open_issues
from .choices import Cause, Health, Trigger
from .models import Integration, WebhookDelivery
from .monitor import is_complete_at_merge
from .relink import mark_relinked, request_sync

logger = logging.getLogger(__name__)

SYNC_EVENTS = ("LinkedAccount.sync_completed", "Issue.new", "Issue.resolved", "LinkedAccount.linked")
MODEL_EVENTS = (".added", ".changed", ".removed")


def signature_is_valid(raw: bytes, header: str) -> bool:
    expected = base64.urlsafe_b64encode(
        hmac.new(settings.MERGE_WEBHOOK_KEY.encode(), raw, hashlib.sha256).digest()
    ).rstrip(b"=")
    return hmac.compare_digest(expected, header.strip().rstrip("=").encode())


@csrf_exempt
@login_not_required
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    raw = request.body
    if not signature_is_valid(raw, request.headers.get("X-Merge-Webhook-Signature", "")):
        return JsonResponse({"detail": "Invalid signature."}, status=401)
    try:
        payload = orjson.loads(raw)
        event = str(payload["hook"]["event"])
        account_id = str(payload["linked_account"]["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return JsonResponse({"detail": "Not a Merge webhook body."}, status=400)
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                digest=hashlib.sha256(raw).hexdigest(), event=event, account_id=account_id
            )
    except IntegrityError:
        return JsonResponse({"detail": "Already processed."})
    integration = Integration.objects.filter(merge_account_id=account_id).first()
    if integration is None:
        return JsonResponse({"detail": "Unknown linked account; ignored."})
    if event == "Issue.resolved" and isinstance(payload.get("data"), dict):
        open_issues.forget(integration, str(payload["data"].get("id")))
    handle_event(integration, event)
    return JsonResponse({"detail": "Accepted."})


def _works_at_merge(integration: Integration) -> bool:
    """Merge's own word that the account works now. Merge retries deliveries for hours, so the linked
    event of the first link can arrive after the connection broke: the event alone proves nothing."""
    try:
        return is_complete_at_merge(integration)
    except MergeError:
        return False  # the next scheduled check looks again


def handle_event(integration: Integration, event: str) -> None:
    from skillibrium.notifications.services import notify_health_change

    if event == "LinkedAccount.linked" and Health(integration.health).needs_action:
        if _works_at_merge(integration):
            # Relinked outside Skillibrium (a delegated magic link), or the admin's relink reported first.
            mark_relinked(integration=integration, detected_by="webhook")
    elif event == "LinkedAccount.deleted" and integration.cause != Cause.DISCONNECTED_BY_ADMIN:
        # After an admin's Disconnect, Merge's deleted event is its echo: nothing to tell anyone.
        if integration.set_health(
            Health.DISCONNECTED, Cause.ACCOUNT_DELETED, "Merge deleted the linked account."
        ):
            notify_health_change(integration)
    elif (event in SYNC_EVENTS or event.endswith(MODEL_EVENTS)) and not integration.is_paused:
        # Every signal leads to the same place: a sync that checks the account first and fetches what changed.
        request_sync(integration, Trigger.WEBHOOK)
    logger.info(
        "webhook %s for integration %s",
        event,
        integration.pk,
        extra={"event": "webhook", "webhook_event": event, "integration_id": integration.pk},
    )

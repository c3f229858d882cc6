import datetime as dt
from typing import Self

from django.db import models
from django.utils import timezone

from skillibrium.core.crypto import EncryptedTextField


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Given up"


class OutboxQuerySet(models.QuerySet["OutboxEmail"]):
    def due(self, now: dt.datetime) -> Self:
        return self.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)


class OutboxEmail(models.Model):
    """Every email the product sends, written before it is sent and sent by the task worker: the unique key
    makes it at most once (per transition, invitation, request), the retries make it arrive once SMTP is back,
    and no sync or request waits for a mail server."""

    key = models.CharField(max_length=200, unique=True)
    to = models.JSONField(default=list)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=255)
    # Encrypted at rest (a password-reset link is a credential), and emptied once sent.
    body = EncryptedTextField()
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.status})"


class AlertSettings(models.Model):
    """Who besides the admins hears of an organization's connections (a shared IT mailbox, say)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alert_settings"
    )
    extra_addresses = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Alert settings of {self.organization}"


class AlertOptOut(models.Model):
    """An admin who asked not to receive connection alerts; the connection's owner is told regardless."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="alert_opt_out")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} opted out of connection alerts"

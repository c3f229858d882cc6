"""Organizations are the tenants; a user belongs to one organization through a membership with a role."""

import datetime as dt
import secrets
import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from skillibrium.core.crypto import EncryptedTextField


def new_origin_id() -> str:
    return str(uuid.uuid4())


class Environment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    PRODUCTION = "production", "Production"


def deployment_environment() -> str:
    from django.conf import settings

    return str(settings.ENVIRONMENT)


class Organization(models.Model):
    name = models.CharField(max_length=200)
    # Whether this organization tries the product out or runs on it; new ones take the deployment's.
    environment = models.CharField(max_length=16, choices=Environment.choices, default=deployment_environment)
    # Merge's end_user_origin_id: one linked account per category per origin id, so relinking reuses it.
    merge_origin_id = models.CharField(max_length=64, unique=True, default=new_origin_id)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Admins without an authenticator app are sent to set one up before any admin page.
    require_admin_mfa = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta(AbstractUser.Meta):
        # Provisioning matches people to users by email whatever its case, thousands at a time.
        indexes: ClassVar[list[models.Index]] = [models.Index(Lower("email"), name="user_email_ci")]

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class AccessOverride(models.TextChoices):
    """An admin's decision on a user's access that provisioning keeps until an admin clears it."""

    KEPT_ACTIVE = "active", "Kept active by hand"
    KEPT_DEACTIVATED = "deactivated", "Kept deactivated by hand"


class Membership(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Set when an admin activates or deactivates someone the HRIS or CRM provisions: syncs leave it be.
    access_override = models.CharField(max_length=16, choices=AccessOverride.choices, blank=True)

    class Meta:
        # The People page pages an organization's members in email order, a page at a time.
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "role"], name="membership_org_role")
        ]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.role}) in {self.organization}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def new_sso_slug() -> str:
    return secrets.token_hex(8)


class SSOProtocol(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class SSOConfiguration(models.Model):
    """An organization's identity provider. allauth's app objects are built from it on each request."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="sso")
    # In the callback, ACS and metadata URLs registered at the identity provider; not guessable from ids.
    slug = models.CharField(max_length=32, unique=True, default=new_sso_slug)
    protocol = models.CharField(max_length=8, choices=SSOProtocol.choices, default=SSOProtocol.OIDC)
    is_enabled = models.BooleanField(default=False)
    display_name = models.CharField(max_length=100, blank=True)

    oidc_issuer = models.URLField(max_length=500, blank=True)
    oidc_client_id = models.CharField(max_length=255, blank=True)
    oidc_client_secret = EncryptedTextField(blank=True, default="")

    saml_metadata_url = models.URLField(max_length=1000, blank=True)
    saml_metadata_xml = models.TextField(blank=True)
    # Parsed from the metadata when it is saved, so that signing in never waits on the identity provider.
    saml_idp_entity_id = models.CharField(max_length=1000, blank=True)
    saml_idp_sso_url = models.URLField(max_length=1000, blank=True)
    saml_idp_certificate = models.TextField(blank=True)
    # Our service-provider key pair: it signs authentication requests.
    saml_sp_private_key = EncryptedTextField(blank=True, default="")
    saml_sp_certificate = models.TextField(blank=True)

    require_sso = models.BooleanField(default=False)
    # Still signs in with a password when SSO is required: a broken identity provider locks no one out.
    break_glass_admin = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} for {self.organization}"

    @property
    def label(self) -> str:
        return self.display_name or self.get_protocol_display()

    @property
    def provider_id(self) -> str:
        """allauth's provider id; SocialAccount rows are namespaced by it, hence per organization."""
        return f"{self.protocol}-{self.slug}"

    @property
    def is_usable(self) -> bool:
        if not self.is_enabled:
            return False
        if self.protocol == SSOProtocol.OIDC:
            return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)
        return bool(self.saml_idp_entity_id and self.saml_idp_sso_url and self.saml_idp_certificate)


class SSODomain(models.Model):
    """An email domain whose people sign in through this configuration; one organization per domain."""

    configuration = models.ForeignKey(SSOConfiguration, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class SignUp(models.Model):
    """Someone who signed up and has not verified their email yet: their organization is created then."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="pending_signup")
    organization_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sign-up of {self.user.email} for {self.organization_name}"


class Invitation(models.Model):
    """A single-use link that lets an invited person choose a password; only the token's hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    # The address it was sent to: if the person's address moves on (to a new hire, say), the link dies too.
    email = models.EmailField(blank=True, default="")
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer link was sent: an older email's link stops working.
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Invitation of {self.user.email} to {self.organization}"

    def is_expired(self, now: "dt.datetime | None" = None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    @property
    def is_for_current_address(self) -> bool:
        return self.email.lower() == self.user.email.lower()

    @property
    def is_open(self) -> bool:
        unused = self.accepted_at is None and self.superseded_at is None
        return unused and self.is_for_current_address and not self.is_expired()

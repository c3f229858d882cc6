"""Company Settings → SSO: the identity provider, and the organization's sign-in policy; staff's new
organization."""

import re
from typing import Any

import httpx
from django import forms
from django.conf import settings

from . import sso
from .models import Environment, Membership, Organization, Role, SSOConfiguration, SSOProtocol, User
from .organizations import claimed_by, domain_of
from .saml import MetadataError, parse_metadata
from .time_zones import is_time_zone, zone_names

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _secure_url(url: str, label: str) -> None:
    # An identity provider is reached from our servers; production never does so in clear text.
    if url and settings.ENVIRONMENT == "production" and not url.startswith("https://"):
        raise forms.ValidationError(f"The {label} must be an https:// address.")


class SSOConfigurationForm(forms.ModelForm[SSOConfiguration]):
    domains = forms.CharField(
        help_text="Email domains whose people sign in with this identity provider, separated by commas.",
        required=False,
    )
    oidc_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted. Leave empty to keep the current secret.",
    )

    class Meta:
        model = SSOConfiguration
        fields = [
            "protocol",
            "display_name",
            "oidc_issuer",
            "oidc_client_id",
            "saml_metadata_url",
            "saml_metadata_xml",
            "is_enabled",
        ]
        widgets = {"protocol": forms.RadioSelect}
        labels = {
            "display_name": "Identity provider name",
            "oidc_issuer": "Issuer URL",
            "oidc_client_id": "Client ID",
            "saml_metadata_url": "Metadata URL",
            "saml_metadata_xml": "Metadata XML",
            "is_enabled": "Enable single sign-on",
        }

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        if self.instance.pk and "domains" not in self.initial:
            self.initial["domains"] = ", ".join(self.instance.domains.values_list("domain", flat=True))

    def clean_domains(self) -> list[str]:
        given = re.split(r"[,\s]+", self.data.get("domains", ""))
        domains = sorted({d.strip().lower().lstrip("@") for d in given} - {""})
        for domain in domains:
            if not DOMAIN.match(domain):
                raise forms.ValidationError(f"{domain} is not a domain name.")
            claimed = sso.domain_claimed_elsewhere(domain=domain, organization=self.organization)
            if claimed:
                raise forms.ValidationError(claimed)
        return domains

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("is_enabled") and not data.get("domains"):
            self.add_error("domains", "Add at least one email domain.")
        if data.get("protocol") == SSOProtocol.OIDC:
            self._clean_oidc(data)
        else:
            self._clean_saml(data)
        return data

    def _clean_oidc(self, data: dict[str, Any]) -> None:
        issuer = (data.get("oidc_issuer") or "").rstrip("/")
        if not (issuer and data.get("oidc_client_id")):
            self.add_error("oidc_issuer", "The issuer URL and client ID are required.")
            return
        if not (data.get("oidc_client_secret") or self.instance.oidc_client_secret):
            self.add_error("oidc_client_secret", "The client secret is required.")
        try:
            _secure_url(issuer, "issuer URL")
            discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
            discovery.raise_for_status()
            if not {"authorization_endpoint", "token_endpoint", "jwks_uri"} <= set(discovery.json()):
                raise ValueError
        except forms.ValidationError as error:
            self.add_error("oidc_issuer", error)
        except (httpx.HTTPError, ValueError):
            self.add_error("oidc_issuer", "No OpenID Connect discovery document was found at this issuer.")
        data["oidc_issuer"] = issuer

    def _clean_saml(self, data: dict[str, Any]) -> None:
        url, xml = data.get("saml_metadata_url") or "", data.get("saml_metadata_xml") or ""
        if not (url or xml):
            self.add_error("saml_metadata_url", "Give the identity provider's metadata URL or XML.")
            return
        try:
            _secure_url(url, "metadata URL")
            self.identity_provider = parse_metadata(url=url) if url else parse_metadata(xml=xml)
        except (forms.ValidationError, MetadataError) as error:
            self.add_error("saml_metadata_url" if url else "saml_metadata_xml", str(error))

    def save(self, commit: bool = True) -> SSOConfiguration:
        configuration = super().save(commit=False)
        if self.cleaned_data.get("oidc_client_secret"):
            configuration.oidc_client_secret = self.cleaned_data["oidc_client_secret"]
        idp = getattr(self, "identity_provider", None)
        if configuration.protocol == SSOProtocol.SAML and idp is not None:
            configuration.saml_idp_entity_id = idp.entity_id
            configuration.saml_idp_sso_url = idp.sso_url
            configuration.saml_idp_certificate = idp.certificate
        return configuration


class AdminChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.email


class SignInPolicyForm(forms.Form):
    require_admin_mfa = forms.BooleanField(
        required=False, label="Require admins to use two-factor authentication (authenticator app)"
    )
    require_sso = forms.BooleanField(
        required=False, label="Require single sign-on for everyone except the break-glass admin"
    )
    break_glass_admin = AdminChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Break-glass admin",
        help_text="Can still sign in with a password, so that a broken identity provider locks no one out.",
    )

    def __init__(self, *args: Any, configuration: SSOConfiguration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configuration = configuration
        admins = Membership.objects.filter(
            organization_id=configuration.organization_id, role=Role.ADMIN, user__is_active=True
        )
        field = self.fields["break_glass_admin"]
        assert isinstance(field, AdminChoiceField)
        field.queryset = User.objects.filter(pk__in=admins.values("user_id")).order_by("email")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("require_sso"):
            if not self.configuration.is_usable:
                self.add_error("require_sso", "Set up and enable single sign-on first.")
            if not data.get("break_glass_admin"):
                self.add_error("break_glass_admin", "Name the admin who can still sign in with a password.")
        return data


class OrganizationForm(forms.Form):
    """Staff create a customer's organization and invite its first admin."""

    name = forms.CharField(max_length=200, label="Organization name")
    time_zone = forms.CharField(
        max_length=64,
        initial="UTC",
        help_text="An IANA time zone such as Europe/Paris or America/New_York.",
    )
    environment = forms.ChoiceField(choices=Environment.choices)
    admin_email = forms.EmailField(label="First admin's email")
    admin_first_name = forms.CharField(max_length=150, label="First admin's first name", required=False)
    admin_last_name = forms.CharField(max_length=150, label="First admin's last name", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["environment"].initial = settings.ENVIRONMENT

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).strip()

    def clean_time_zone(self) -> str:
        name = str(self.cleaned_data["time_zone"]).strip()
        if not is_time_zone(name):
            raise forms.ValidationError(
                f"“{name}” is not a time zone. Use an IANA name such as Europe/Paris or America/New_York."
            )
        return name

    def clean_admin_email(self) -> str:
        email = str(self.cleaned_data["admin_email"]).strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                f"{email} already belongs to a Skillibrium user; one person belongs to one organization. "
                "Use another address for this organization's first admin."
            )
        return email


class SignupForm(forms.Form):
    """What allauth's sign-up asks besides email and password (ACCOUNT_SIGNUP_FORM_CLASS)."""

    organization_name = forms.CharField(max_length=200, label="Organization name")
    first_name = forms.CharField(max_length=150, label="Your first name")
    last_name = forms.CharField(max_length=150, label="Your last name", required=False)

    def clean(self) -> dict[str, Any]:
        """A sign-up never joins, or starts a second, organization of a domain that is already someone's."""
        cleaned = super().clean() or {}
        email = str(cleaned.get("email") or "")
        owner = claimed_by(email) if email else None
        if owner is not None:
            self.add_error(
                "email",
                f"{domain_of(email)} belongs to {owner.name}, which already uses Skillibrium. "
                f"Ask an admin of {owner.name} to invite you.",
            )
        return cleaned

    def signup(self, request: Any, user: User) -> None:
        from .models import SignUp

        user.first_name = self.cleaned_data["first_name"].strip()
        user.last_name = self.cleaned_data["last_name"].strip()
        user.save(update_fields=["first_name", "last_name"])
        SignUp.objects.create(user=user, organization_name=self.cleaned_data["organization_name"].strip())


class TimeZoneForm(forms.Form):
    """The organization's time zone, one of the system's IANA names (checked here, whatever was posted)."""

    time_zone = forms.TypedChoiceField(
        choices=[],
        label="Show times in",
        help_text="Every time in Skillibrium and in its emails is shown in this zone; it also decides on "
        "which day a future-dated termination applies.",
        error_messages={
            "invalid_choice": "“%(value)s” is not a time zone. Choose one of the list, such as Europe/Paris "
            "or America/New_York. Nothing was changed.",
            "required": "Choose a time zone. Nothing was changed.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in zone_names()]  # type: ignore[attr-defined]

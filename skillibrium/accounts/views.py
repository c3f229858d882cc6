import requests
from allauth.account.utils import perform_login
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthProcess
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from skillibrium.accounts.access import admin_view, member_view
from skillibrium.accounts.models import Membership, SSOConfiguration, SSOProtocol
from skillibrium.core.models import record
from skillibrium.notifications import recipients
from skillibrium.notifications.models import AlertOptOut

from . import invitations, sso, time_zones
from .forms import SignInPolicyForm, SSOConfigurationForm, TimeZoneForm
from .oidc.views import UNREACHABLE


@member_view
def settings_profile(request: HttpRequest, membership: Membership) -> HttpResponse:
    opted_out = AlertOptOut.objects.filter(user=membership.user).exists()
    return render(request, "accounts/settings_profile.html", {"tab": "profile", "opted_out": opted_out})


def _company_page(
    request: HttpRequest,
    membership: Membership,
    *,
    zone_form: TimeZoneForm | None = None,
    addresses: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Company Settings, with what the admin posted when it was refused."""
    if addresses is None:
        addresses = "\n".join(recipients.extra_addresses(membership.organization_id))
    context = {
        "tab": "company",
        "alert_addresses": addresses,
        "zone_form": zone_form or TimeZoneForm(initial={"time_zone": membership.organization.time_zone}),
    }
    return render(request, "accounts/settings_company.html", context, status=status)


@member_view
def settings_company(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _company_page(request, membership)


@require_POST
@admin_view
def time_zone(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organization's time zone: an admin's, audited; a name that is not a zone changes nothing."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _company_page(request, membership, zone_form=form, status=400)
    name = form.cleaned_data["time_zone"]
    if time_zones.change_time_zone(organization=membership.organization, name=name, actor=membership.user):
        messages.success(request, f"Saved. Times are now shown in {name}.")
    else:
        messages.info(request, f"The time zone was {name} already; nothing was changed.")
    return redirect("accounts:settings_company")


@require_POST
@admin_view
def alert_addresses(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Extra addresses told of every connection alert (a shared IT mailbox, say)."""
    try:
        addresses = recipients.parse_addresses(request.POST.get("addresses", ""))
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return _company_page(request, membership, addresses=request.POST.get("addresses", ""), status=400)
    before = recipients.set_extra_addresses(organization=membership.organization, addresses=addresses)
    record(
        organization_id=membership.organization_id,
        actor_id=membership.user_id,
        action="organization.alert_addresses_changed",
        target=str(membership.organization),
        before={"addresses": before},
        after={"addresses": addresses},
    )
    messages.success(request, "Saved. Connection alerts also go to these addresses.")
    return redirect("accounts:settings_company")


@require_POST
@admin_view
def alert_preference(request: HttpRequest, membership: Membership) -> HttpResponse:
    """An admin's opt-out of connection alerts; they still hear of the connections they own."""
    opt_out = request.POST.get("connection_alerts") != "on"
    if opt_out:
        AlertOptOut.objects.get_or_create(user=membership.user)
    else:
        AlertOptOut.objects.filter(user=membership.user).delete()
    record(
        organization_id=membership.organization_id,
        actor_id=membership.user_id,
        action="user.connection_alerts_changed",
        target=membership.user.email,
        after={"connection_alerts": not opt_out},
    )
    messages.success(request, "Saved." if not opt_out else "Saved. You hear only of connections you own.")
    return redirect("accounts:settings")


def _sso_page(
    request: HttpRequest, membership: Membership, form: SSOConfigurationForm, policy: SignInPolicyForm
) -> HttpResponse:
    configuration = form.instance
    context = {
        "tab": "company",
        "form": form,
        "policy": policy,
        "configuration": configuration,
        "urls": sso.sso_context(configuration, request),
    }
    return render(request, "accounts/settings_sso.html", context, status=400 if form.errors else 200)


def _policy_form(configuration: SSOConfiguration, data: dict[str, str] | None = None) -> SignInPolicyForm:
    initial = {
        "require_admin_mfa": configuration.organization.require_admin_mfa,
        "require_sso": configuration.require_sso,
        "break_glass_admin": configuration.break_glass_admin_id,
    }
    return SignInPolicyForm(data, initial=initial, configuration=configuration)


@sensitive_post_parameters("oidc_client_secret", "saml_metadata_xml")
@admin_view
def sso_settings(request: HttpRequest, membership: Membership) -> HttpResponse:
    configuration = sso.configuration_for(organization=membership.organization)
    form = SSOConfigurationForm(
        request.POST if request.method == "POST" else None,
        instance=configuration,
        organization=membership.organization,
    )
    if request.method == "POST" and form.is_valid():
        sso.save_configuration(
            configuration=form.save(commit=False),
            domains=form.cleaned_data["domains"],
            actor=membership.user,
            changed=form.changed_data,
        )
        messages.success(request, "Single sign-on settings saved.")
        return redirect("accounts:settings_sso")
    return _sso_page(request, membership, form, _policy_form(configuration))


@require_POST
@admin_view
def sso_policy(request: HttpRequest, membership: Membership) -> HttpResponse:
    configuration = sso.configuration_for(organization=membership.organization)
    policy = _policy_form(configuration, request.POST)
    if not policy.is_valid():
        form = SSOConfigurationForm(instance=configuration, organization=membership.organization)
        return _sso_page(request, membership, form, policy)
    organization = membership.organization
    organization.require_admin_mfa = policy.cleaned_data["require_admin_mfa"]
    organization.save(update_fields=["require_admin_mfa"])
    configuration.require_sso = policy.cleaned_data["require_sso"]
    configuration.break_glass_admin = policy.cleaned_data["break_glass_admin"]
    configuration.save(update_fields=["require_sso", "break_glass_admin", "updated_at"])
    record(
        organization_id=organization.pk,
        actor_id=membership.user_id,
        action="sign_in_policy.changed",
        require_admin_mfa=organization.require_admin_mfa,
        require_sso=configuration.require_sso,
        break_glass_admin=getattr(configuration.break_glass_admin, "email", ""),
    )
    messages.success(request, "Sign-in policy saved.")
    return redirect("accounts:settings_sso")


class SSOStartForm(forms.Form):
    email = forms.EmailField(label="Work email")


@login_not_required
def sso_start(request: HttpRequest) -> HttpResponse:
    """Sign in with SSO: the work email's domain names the organization, whose identity provider we go to."""
    form = SSOStartForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        configuration = sso.configuration_for_email(email=form.cleaned_data["email"])
        if configuration is None:
            form.add_error(
                "email", "Single sign-on is not set up for this email's domain. Use your password."
            )
        else:
            provider_name = "openid_connect" if configuration.protocol == SSOProtocol.OIDC else "saml"
            app: SocialApp = next(
                a for a in sso.social_apps(provider=configuration.provider_id) if a.provider == provider_name
            )
            provider = app.get_provider(request)
            try:
                redirect_to_idp = provider.redirect(request, AuthProcess.LOGIN, next_url=next_url or None)
            except requests.RequestException:
                form.add_error("email", UNREACHABLE)
                return render(request, "account/sso_start.html", {"form": form, "next": next_url}, status=502)
            # Our CSP's form-action 'self' also stops a form's redirect to another origin; a page that
            # moves on by itself keeps that protection everywhere else.
            context = {"url": redirect_to_idp["Location"], "name": configuration.label}
            return render(request, "account/sso_redirect.html", context)
    return render(request, "account/sso_start.html", {"form": form, "next": next_url})


@login_not_required
def not_offered(request: HttpRequest) -> HttpResponse:
    """Addresses come from the organization's directory and SSO is the organization's: allauth's pages to add
    email addresses or connect other accounts are not offered."""
    raise Http404


def _unusable(request: HttpRequest, state: str, **context: object) -> HttpResponse:
    status = 404 if state == "unknown" else 410
    return render(request, "accounts/invitation_unusable.html", context | {"state": state}, status=status)


@sensitive_post_parameters("new_password1", "new_password2")
@login_not_required
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: the invited person chooses a password and is signed in; the link then stops."""
    invitation = invitations.find(token)
    if invitation is None or not invitation.user.is_active or not invitation.is_for_current_address:
        return _unusable(request, "unknown")
    organization = invitation.organization
    if invitation.accepted_at is not None:
        return _unusable(request, "used", invitation=invitation, organization=organization)
    if invitation.superseded_at is not None:
        return _unusable(request, "superseded", invitation=invitation, organization=organization)
    if invitation.is_expired():
        return _unusable(request, "expired", invitation=invitation, organization=organization)
    form = SetPasswordForm(invitation.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept(invitation, password=form.cleaned_data["new_password1"])
        except invitations.InvitationRefused:
            return _unusable(request, "used", invitation=invitation, organization=organization)
        response: HttpResponse = perform_login(
            request, user, email_verification="none", redirect_url=reverse("directory:my_org")
        )
        return response
    context = {"invitation": invitation, "organization": organization, "form": form}
    return render(request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200)


@login_not_required
def signup(request: HttpRequest) -> HttpResponseBase:
    """allauth's sign-up, where self sign-up is on; elsewhere there is no such page."""
    from allauth.account.views import signup as allauth_signup

    if not settings.SELF_SIGNUP:
        raise Http404("Sign-up is not offered here.")
    response: HttpResponseBase = allauth_signup(request)
    return response

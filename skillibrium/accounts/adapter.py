"""How allauth signs people in here: SSO per organization, deactivated people never; self sign-up where
settings.SELF_SIGNUP allows it, its email verified before the new organization exists."""

import logging
import uuid
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import user_email
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.core.mail import EmailMessage
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from skillibrium.core import crypto
from skillibrium.core.models import record

from . import organizations, sso
from .models import SignUp

logger = logging.getLogger(__name__)


def refuse(request: HttpRequest, reason: str) -> ImmediateHttpResponse:
    page = render(request, "socialaccount/authentication_error.html", {"reason": reason}, status=403)
    return ImmediateHttpResponse(page)


class QueuedMessage(EmailMessage):
    """An email allauth rendered (a password reset, say): sending it queues it in the outbox like every other
    email, so that a mail server that hangs never holds the request and one that is down loses nothing."""

    def __init__(self, message: EmailMessage, *, kind: str) -> None:
        super().__init__(message.subject, message.body, to=message.to)
        self.kind = kind

    def send(self, fail_silently: bool = False, *, using: str | None = None) -> int:
        from skillibrium.notifications.outbox import queue_email

        key = f"account/{self.kind}/{uuid.uuid4().hex}"
        return int(queue_email(key=key, subject=str(self.subject), body=str(self.body), to=self.to))


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Otherwise people join only through their organization's directory sync or an admin's invitation.
        return bool(settings.SELF_SIGNUP)

    def confirm_email(self, request: HttpRequest, email_address: Any) -> bool:
        confirmed = bool(super().confirm_email(request, email_address))
        pending = SignUp.objects.filter(user_id=email_address.user_id).first()
        if email_address.verified and pending is not None:
            organizations.finish_signup(pending)
        return confirmed

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        message = super().render_mail(template_prefix, email, context, headers)
        return QueuedMessage(message, kind=template_prefix.rsplit("/", 1)[-1])

    def format_email_subject(self, subject: str) -> str:
        from skillibrium.notifications.services import subject as environment_subject

        return environment_subject(str(subject))

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        user = request.user
        if user.is_staff and not hasattr(user, "membership"):
            return reverse("staff_operations")  # staff belong to no organization: My Org has nothing for them
        return str(super().get_login_redirect_url(request))

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        refused: HttpResponse | None = super().pre_login(request, user, **kwargs)
        if refused is not None:
            return refused
        if SignUp.objects.filter(user_id=user.pk).exists():
            return self._verify_first(request, user)
        by_sso = bool((kwargs.get("signal_kwargs") or {}).get("sociallogin"))
        reason = None if by_sso else sso.password_sign_in_refusal(user=user)
        if reason:
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            logger.info("password sign-in refused for user %s: SSO required", user.pk)
            return render(request, "account/sso_required.html", {"reason": reason}, status=403)
        return None

    def _verify_first(self, request: HttpRequest, user: Any) -> HttpResponse:
        """Someone who signed up signs in once their email is verified: each attempt before sends the link."""
        from allauth.account.internal.stagekit import clear_login
        from allauth.account.models import EmailAddress

        clear_login(request)
        address, _ = EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"primary": True, "verified": False}
        )
        address.send_confirmation(request, signup=True)
        response: HttpResponseBase = self.respond_email_verification_sent(request, user)
        return response  # type: ignore[return-value]

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        # The email is logged to trace attacks; the password never is.
        logger.warning("failed sign-in for %s", credentials.get("email", "?"))


class SSOAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]
    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        return sso.social_apps(provider=provider, client_id=client_id)

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Sign in the existing person of this email in the identity provider's organization, or refuse."""
        configuration = sso.configuration_of(sociallogin.provider.app)
        if sociallogin.state.get("process", AuthProcess.LOGIN) != AuthProcess.LOGIN:
            raise refuse(request, "Single sign-on can only be used to sign in.")
        email = user_email(sociallogin.user) or ""
        try:
            user = sso.user_for_sign_in(configuration=configuration, email=email)
            if sociallogin.is_existing and sociallogin.user.pk != user.pk:
                raise sso.SSORefused("This identity is linked to another Skillibrium account.")
        except sso.SSORefused as refusal:
            logger.info("SSO sign-in refused in organization %s", configuration.organization_id)
            record(
                organization_id=configuration.organization_id,
                action="sso.refused",
                target=email,
                reason=str(refusal),
            )
            raise refuse(request, str(refusal)) from None
        sociallogin.user = user
        sociallogin.account.user = user

    def on_authentication_error(self, request: HttpRequest, provider: Any, **kwargs: Any) -> None:
        error, exception = kwargs.get("error"), kwargs.get("exception")
        logger.warning("SSO sign-in failed with %s: %s: %r", provider.sub_id, error, exception)


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    """TOTP secrets and recovery-code seeds are secrets at rest (allauth stores them as given by default)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

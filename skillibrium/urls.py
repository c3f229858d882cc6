from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from skillibrium.accounts import audit
from skillibrium.accounts import views as accounts_views
from skillibrium.core.health import Readiness
from skillibrium.shell import operations
from skillibrium.shell.staff_admin.registry import site as staff_admin

handler403 = "skillibrium.shell.errors.permission_denied"
handler404 = "skillibrium.shell.errors.page_not_found"


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    if request.user.is_staff and not hasattr(request.user, "membership"):
        return redirect("staff_operations")
    return redirect("directory:my_org")


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", login_not_required(Readiness.as_view()), name="readyz"),
    path("accounts/sso/", accounts_views.sso_start, name="sso_start"),
    path("accounts/email/", accounts_views.not_offered),
    path("accounts/3rdparty/", accounts_views.not_offered),
    path("accounts/signup/", accounts_views.signup),
    path("accounts/", include("allauth.urls")),
    path("invitations/<str:token>/", accounts_views.accept_invitation, name="invitation_accept"),
    path("staff/", operations.operations, name="staff_operations"),
    path("staff/admin/", staff_admin.urls),
    path("staff/organizations/new/", operations.create_organization, name="staff_create_organization"),
    path("my-org/", include("skillibrium.directory.urls")),
    path("settings/company/provisioning/", include("skillibrium.provisioning.urls")),
    path("settings/company/audit/", audit.audit_log, name="audit_log"),
    path("settings/company/audit.csv", audit.audit_csv, name="audit_csv"),
    path("settings/", include("skillibrium.accounts.urls")),
    path("", include("skillibrium.integrations.urls")),
]

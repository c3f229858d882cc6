"""What the staff admin shows, read-only: each list joins what its rows name in the one query (no query per
row), and no encrypted column (an account token, say) is ever among the fields shown."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils.html import format_html
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from skillibrium.accounts.models import Membership, Organization
from skillibrium.core.crypto import EncryptedTextField
from skillibrium.integrations.models import Integration, IntegrationEvent, PlatformIncident
from skillibrium.sync.models import RunEntry, SyncRun

from .site import site

__all__ = ["site"]


def secret_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def filtered_list(model: type[models.Model], label: str, **lookups: object) -> str:
    """A link to the admin's list of `model` narrowed to these lookups (a run's entries, say)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in lookups.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


READ_PAGES = ("changelist", "change", "history")


class ReadOnly:
    """Staff look; they never add, change or delete, and no bulk action is offered. Whoever reaches a page
    has passed the site's gate (active staff with a second factor), so viewing needs no further permission."""

    actions: Any = None
    view_on_site: Callable[[Any], str | None] | bool = False
    show_full_result_count = False  # one count per page, not two, on tables of millions of rows
    model: type[models.Model]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        """The list, an entry and its history; no add or delete page exists to be reached."""
        names = {f"{self.model._meta.app_label}_{self.model._meta.model_name}_{page}" for page in READ_PAGES}
        return [u for u in super().get_urls() if u.name in names]  # type: ignore[misc]

    def get_exclude(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or ()), *secret_fields(self.model)]  # type: ignore[misc]


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin[Any]):
    list_per_page = 50


class IntegrationInline(ReadOnly, admin.TabularInline[Any, Any]):
    model = Integration
    fields = ("category", "provider_name", "merge_account_id", "health", "cause", "is_paused")
    show_change_link = True
    extra = 0


@admin.register(Organization, site=site)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "environment", "time_zone", "require_admin_mfa", "created_at", "members")
    list_filter = ("environment", "require_admin_mfa")
    search_fields = ("name", "merge_origin_id")
    inlines = (IntegrationInline,)

    @admin.display(description="members")
    def members(self, organization: Organization) -> str:
        return filtered_list(Membership, "members", organization__id__exact=organization.pk)


@admin.register(Membership, site=site)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user__email", "organization", "role", "access_override", "user__is_active")
    list_filter = ("role", "access_override")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "organization__name")
    fields = ("user", "organization", "role", "access_override")


@admin.register(Integration, site=site)
class IntegrationAdmin(ReadOnlyAdmin):
    list_display = (
        "organization",
        "provider_name",
        "category",
        "health",
        "cause",
        "is_paused",
        "last_successful_sync_at",
        "next_sync_at",
        "runs",
    )
    list_filter = ("health", "category", "is_paused", "cause")
    list_select_related = ("organization",)
    search_fields = ("organization__name", "provider_name", "merge_account_id")
    ordering = ("organization__name", "category")

    @admin.display(description="runs")
    def runs(self, integration: Integration) -> str:
        return filtered_list(SyncRun, "runs", integration__id__exact=integration.pk)


@admin.register(SyncRun, site=site)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "integration", "trigger", "status", "started_at", "finished_at", "pages", "entries")
    list_filter = ("status", "trigger")
    list_select_related = ("integration__organization",)
    search_fields = ("integration__organization__name", "integration__merge_account_id", "error")
    readonly_fields = ("entries",)

    @admin.display(description="per-person log")
    def entries(self, run: SyncRun) -> str:
        return filtered_list(RunEntry, "entries", run__id__exact=run.pk)


@admin.register(RunEntry, site=site)
class RunEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "run_id", "action", "name", "email", "source_id")
    list_filter = ("action",)
    search_fields = ("email", "name", "source_id")
    fields = ("run", "person", "source_id", "name", "email", "action", "details")


@admin.register(IntegrationEvent, site=site)
class IntegrationEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "integration", "from_health", "to_health", "cause")
    list_filter = ("to_health", "cause")
    list_select_related = ("integration__organization",)
    search_fields = ("integration__organization__name", "detail")


@admin.register(PlatformIncident, site=site)
class PlatformIncidentAdmin(ReadOnlyAdmin):
    list_display = ("kind", "started_at", "ended_at", "detail")
    list_filter = ("kind",)


@admin.register(DBTaskResult, site=site)
class TaskResultAdmin(ReadOnly, DBTaskResultAdmin):
    search_fields = ("task_path", "id")
    list_filter = ("status", "queue_name", "priority")

from django.urls import path

from . import views, webhooks

app_name = "integrations"
urlpatterns = [
    path("my-org/hris/", views.hris_settings, name="hris_settings"),
    path("my-org/hris/<int:pk>/edit/", views.edit, {"section": "hris"}, name="edit"),
    path("settings/company/integrations/", views.company_integrations, name="company_integrations"),
    path(
        "settings/company/integrations/<int:pk>/edit/",
        views.edit,
        {"section": "company"},
        name="company_edit",
    ),
    path("integrations/<int:pk>/relink/start/", views.relink_start, name="relink_start"),
    path("integrations/<int:pk>/relink/complete/", views.relink_complete, name="relink_complete"),
    path("integrations/<int:pk>/sync/", views.sync_now, name="sync_now"),
    path("webhooks/merge/", webhooks.receive, name="merge_webhook"),
]

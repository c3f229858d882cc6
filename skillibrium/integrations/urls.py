from django.urls import path

from skillibrium.sync import views as runs

from . import actions, history_views, live, views, webhooks
from .choices import Category

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
    *(
        route
        for category in Category.values
        for route in (
            path(
                f"integrations/connect/{category}/start/",
                views.connect_start,
                {"category": category},
                name="connect_start",
            ),
            path(
                f"integrations/connect/{category}/complete/",
                views.connect_complete,
                {"category": category},
                name="connect_complete",
            ),
        )
    ),
    path("integrations/<int:pk>/relink/start/", views.relink_start, name="relink_start"),
    path("integrations/<int:pk>/relink/complete/", views.relink_complete, name="relink_complete"),
    path("integrations/<int:pk>/sync/", views.sync_now, name="sync_now"),
    path("integrations/<int:pk>/live/", live.poll, name="live"),
    path("integrations/<int:pk>/runs/", history_views.run_history, name="run_history"),
    path("integrations/<int:pk>/first-sync/", views.first_sync_review, name="first_sync_review"),
    path("integrations/<int:pk>/switch/", views.switch_review, name="switch_review"),
    path("integrations/<int:pk>/switch/start/", views.switch_start, name="switch_start"),
    path("integrations/<int:pk>/switch/complete/", views.switch_complete, name="switch_complete"),
    path("integrations/<int:pk>/runs/<int:run_pk>/", runs.run_detail, name="run_detail"),
    path("integrations/<int:pk>/test/", actions.test_connection, name="test_connection"),
    path("integrations/<int:pk>/pause/", actions.pause, name="pause"),
    path("integrations/<int:pk>/resume/", actions.resume, name="resume"),
    path("integrations/<int:pk>/take-over/", actions.take_over, name="take_over"),
    path("integrations/<int:pk>/disconnect/", actions.disconnect, name="disconnect"),
    path("integrations/<int:pk>/rotation-policy/", actions.rotation_policy, name="rotation_policy"),
    path("integrations/<int:pk>/full-read/", actions.full_read_policy, name="full_read_policy"),
    path("integrations/<int:pk>/delegate/", actions.delegate, name="delegate"),
    path(
        "integrations/<int:pk>/delegations/<int:delegation_id>/",
        actions.delegation_action,
        name="delegation_action",
    ),
    path("integrations/<int:pk>/support/", actions.contact_support, name="contact_support"),
    path("relink/<str:token>/", actions.delegated_open, name="delegated_open"),
    path("webhooks/merge/", webhooks.receive, name="merge_webhook"),
]

from django.urls import path

from . import people_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.settings_profile, name="settings"),
    path("alerts/", views.alert_preference, name="alert_preference"),
    path("company/", views.settings_company, name="settings_company"),
    path("company/alerts/", views.alert_addresses, name="alert_addresses"),
    path("company/time-zone/", views.time_zone, name="time_zone"),
    path("company/sso/", views.sso_settings, name="settings_sso"),
    path("company/sso/policy/", views.sso_policy, name="settings_sso_policy"),
    path("company/people/", people_views.people_page, name="people"),
    path("company/people/invite/", people_views.invite, name="people_invite"),
    path("company/people/<int:user_id>/resend/", people_views.resend, name="people_resend"),
    path("company/people/<int:user_id>/promote/", people_views.promote, name="people_promote"),
    path("company/people/<int:user_id>/demote/", people_views.demote, name="people_demote"),
    path("company/people/<int:user_id>/deactivate/", people_views.deactivate, name="people_deactivate"),
    path("company/people/<int:user_id>/reactivate/", people_views.reactivate, name="people_reactivate"),
    path(
        "company/people/<int:user_id>/clear-override/",
        people_views.clear_override,
        name="people_clear_override",
    ),
]

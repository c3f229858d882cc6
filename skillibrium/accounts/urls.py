from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.settings_profile, name="settings"),
    path("alerts/", views.alert_preference, name="alert_preference"),
    path("company/", views.settings_company, name="settings_company"),
    path("company/alerts/", views.alert_addresses, name="alert_addresses"),
    path("company/sso/", views.sso_settings, name="settings_sso"),
    path("company/sso/policy/", views.sso_policy, name="settings_sso_policy"),
]

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.settings_profile, name="settings"),
    path("company/", views.settings_company, name="settings_company"),
]

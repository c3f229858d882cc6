from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "skillibrium.notifications"

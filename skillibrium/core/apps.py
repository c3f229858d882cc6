from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "skillibrium.core"

    def ready(self) -> None:
        from . import bulk, checks  # noqa: F401 - registers the `any_of` lookup and the deploy checks

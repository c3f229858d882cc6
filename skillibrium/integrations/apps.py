from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "skillibrium.integrations"

    def ready(self) -> None:
        # Merge refusing our API key is one platform incident, whichever request met it.
        from skillibrium.merge_client import when_api_key_refused

        from .choices import IncidentKind
        from .handoff import connect_signals
        from .health import open_platform_incident

        when_api_key_refused(lambda detail: open_platform_incident(detail, IncidentKind.API_KEY_REJECTED))
        connect_signals()

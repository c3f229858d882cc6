from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "skillibrium.integrations"

    def ready(self) -> None:
        # Merge refusing our API key is one platform incident, whichever request met it.
        from skillibrium.merge_client import when_api_key_refused, when_merge_answers

        from .choices import IncidentKind
        from .handoff import connect_signals
        from .health import open_platform_incident
        from .monitor import merge_answers_again

        when_api_key_refused(lambda detail: open_platform_incident(detail, IncidentKind.API_KEY_REJECTED))
        when_merge_answers(merge_answers_again)
        connect_signals()

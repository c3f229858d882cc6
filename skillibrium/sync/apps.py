from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "skillibrium.sync"

    def ready(self) -> None:
        # Every sync is asked for through integrations.relink.request_sync, which sits below this app.
        from skillibrium.integrations.relink import queue_syncs_with

        from .tasks import sync_linked_account

        queue_syncs_with(lambda integration_id, trigger: sync_linked_account.enqueue(integration_id, trigger))

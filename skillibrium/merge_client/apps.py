from django.apps import AppConfig


class MergeClientConfig(AppConfig):
    name = "skillibrium.merge_client"
    label = "merge_client"

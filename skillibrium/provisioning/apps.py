from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "skillibrium.provisioning"

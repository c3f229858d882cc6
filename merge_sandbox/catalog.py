"""The integrations the sandbox simulates and what is peculiar to each provider."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Integration:
    slug: str
    name: str
    category: str
    color: str
    uses_mfa: bool
    credential_kind: str
    remote_path: str
    required_permission: str
    permissions: tuple[str, ...]

    def image(self, base_url: str) -> str:
        return f"{base_url}/link/logos/{self.slug}.svg"

    def account_integration(self, base_url: str) -> dict[str, object]:
        """The `integration` object of account-token responses."""
        return {
            "name": self.name,
            "abbreviated_name": None,
            "categories": [self.category],
            "image": self.image(base_url),
            "square_image": self.image(base_url),
            "color": self.color,
            "slug": self.slug,
            "api_endpoints_to_documentation_urls": {},
            "webhook_setup_guide_url": None,
            "category_beta_status": {},
        }

    def linked_account_integration(self, base_url: str) -> dict[str, object]:
        """The `integration` object of linked-accounts items."""
        return {
            "name": self.name,
            "categories": [self.category],
            "image": self.image(base_url),
            "square_image": self.image(base_url),
            "color": self.color,
            "slug": self.slug,
            "passthrough_available": True,
            "available_model_operations": [],
        }


INTEGRATIONS: dict[str, Integration] = {
    i.slug: i
    for i in (
        Integration(
            "workday",
            "Workday",
            "hris",
            "#F38B00",
            True,
            "Integration System User password",
            "/ccx/service/Human_Resources/v42.0/Get_Workers",
            "Get_Workers",
            ("Get_Workers", "Get_Organizations", "Get_Locations"),
        ),
        Integration(
            "bamboohr",
            "BambooHR",
            "hris",
            "#73C41D",
            False,
            "API key",
            "/v1/employees/directory",
            "employees:read",
            ("employees:read", "reports:read"),
        ),
        Integration(
            "hibob",
            "HiBob",
            "hris",
            "#E3316E",
            False,
            "service user token",
            "/v1/people/search",
            "people:read",
            ("people:read", "company:read"),
        ),
        Integration(
            "salesforce",
            "Salesforce",
            "crm",
            "#00A1E0",
            True,
            "OAuth refresh token",
            "/services/data/v59.0/query",
            "api",
            ("api", "refresh_token", "full"),
        ),
        Integration(
            "hubspot",
            "HubSpot",
            "crm",
            "#FF7A59",
            False,
            "private app token",
            "/crm/v3/objects",
            "crm.objects.owners.read",
            ("crm.objects.owners.read", "crm.objects.companies.read", "crm.objects.contacts.read"),
        ),
    )
}

CATEGORIES = ("hris", "crm")
ALL_CATEGORIES = ("hris", "ats", "accounting", "ticketing", "crm", "mktg", "filestorage", "knowledgebase")


def for_category(category: str) -> list[Integration]:
    return [i for i in INTEGRATIONS.values() if i.category == category]

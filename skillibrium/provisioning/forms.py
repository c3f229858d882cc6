from typing import Any

from django import forms

from skillibrium.directory.models import EmploymentStatus
from skillibrium.integrations.choices import Category

from .models import ProvisioningPolicy
from .plan import SUPPLIED_BY_SOURCE

FIELD_NAMES = {
    "employment_status": "employment status",
    "employment_type": "employment type",
    "department": "department",
    "location": "location",
}


def what_each_source_supplies() -> list[tuple[str, str]]:
    """For the policy page: a filter applies only to the people of sources that supply its field."""
    return [
        (Category(category).label, ", ".join(FIELD_NAMES[f] for f in FIELD_NAMES if f in supplied))
        for category, supplied in SUPPLIED_BY_SOURCE.items()
    ]


EMPLOYMENT_TYPES = [
    ("FULL_TIME", "Full time"),
    ("PART_TIME", "Part time"),
    ("INTERN", "Intern"),
    ("CONTRACTOR", "Contractor"),
    ("FREELANCE", "Freelance"),
]


class CommaList(forms.CharField):
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [part.strip() for part in text.split(",") if part.strip()]

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else str(value or "")


class PolicyForm(forms.ModelForm[ProvisioningPolicy]):
    employment_statuses = forms.MultipleChoiceField(
        choices=EmploymentStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Who gets a Skillibrium user. None ticked means Active only.",
    )
    employment_types = forms.MultipleChoiceField(
        choices=EMPLOYMENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked means every type. Applies to HRIS people only: a CRM supplies no employment "
        "type.",
    )
    departments = CommaList(
        required=False,
        help_text="Comma-separated; empty means every department. Applies to HRIS people only: a CRM "
        "supplies no department, so CRM users are not filtered out by it.",
    )
    locations = CommaList(
        required=False,
        help_text="Comma-separated; empty means every location. Applies to HRIS people only: a CRM "
        "supplies no location, so CRM users are not filtered out by it.",
    )
    mass_deactivation_percent = forms.IntegerField(min_value=1, max_value=100)
    mass_deactivation_minimum_users = forms.IntegerField(min_value=1, max_value=1_000_000)
    invite_days_before_start = forms.IntegerField(
        min_value=0,
        max_value=365,
        help_text="A pre-hire (start date ahead) is invited this many days before they start, not sooner.",
    )

    class Meta:
        model = ProvisioningPolicy
        fields = [
            "employment_statuses",
            "employment_types",
            "departments",
            "locations",
            "send_invitations",
            "mass_deactivation_percent",
            "mass_deactivation_minimum_users",
            "review_after_reconnection",
            "invite_days_before_start",
        ]
        labels = {
            "send_invitations": "Email an invitation to each new user",
            "mass_deactivation_percent": "Hold deactivations for review above (% of users in one sync)",
            "mass_deactivation_minimum_users": "…once the organization has at least (users)",
            "review_after_reconnection": "Review the changes that built up while a connection was broken",
            "invite_days_before_start": "Invite pre-hires (days before their start date)",
        }

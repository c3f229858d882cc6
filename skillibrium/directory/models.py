"""The organization's people: one person per human, fed by one or more sources (HRIS, CRM)."""

from typing import Self

from django.db import models
from django.db.models import F, Func, TextField
from django.db.models.functions import Lower

from skillibrium.accounts.models import Organization


class EmploymentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    PENDING = "PENDING", "Pending"
    INACTIVE = "INACTIVE", "Inactive"


SEARCHED = ("first_name", "last_name", "work_email", "title", "team", "department")


class SearchText(Func):
    """UPPER(first_name || ' ' || last_name || ' ' || ... || department): what My Org's search reads, the very
    expression migration 0009 indexes by trigrams on PostgreSQL (none of the columns is ever NULL). A word
    holds no space, so it is found in the whole text only where it is found in one of the fields."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(*(F(name) for name in SEARCHED))


class PersonQuerySet(models.QuerySet["Person"]):
    def for_org(self, organization: Organization) -> Self:
        return self.filter(organization=organization)

    def search(self, text: str) -> Self:
        """People with every word of `text` in their name, email, title, team or department."""
        found = self.alias(search_text=SearchText())
        for word in text.split():
            found = found.filter(search_text__contains=word.upper())
        return found


class Person(models.Model):
    # Found by the indexes below, which all begin with the organization: no index of its own to maintain.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="people", db_index=False
    )
    # The category whose values this person shows: the HRIS is authoritative when both know the person.
    source_category = models.CharField(max_length=8, default="hris")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    display_name = models.CharField(max_length=300, blank=True)
    work_email = models.EmailField(blank=True)
    # The HRIS's own number for the employee: with a vendor switch, a second key beside the work email.
    employee_number = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=255, blank=True)
    employment_type = models.CharField(max_length=32, blank=True)
    team = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=255, blank=True)
    location = models.CharField(max_length=255, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    employment_status = models.CharField(
        max_length=16, choices=EmploymentStatus.choices, default=EmploymentStatus.ACTIVE
    )
    hire_date = models.DateField(null=True, blank=True)
    # The first day of work: a pre-hire is invited only a few days before it (ProvisioningPolicy).
    start_date = models.DateField(null=True, blank=True)
    termination_date = models.DateField(null=True, blank=True)
    remote_was_deleted = models.BooleanField(default=False)
    # Set while the latest complete read of the person's source left them out: when a read last saw them.
    # Absence is no evidence of leaving: such a person waits for an admin, neither deactivated nor invited.
    not_seen_since = models.DateTimeField(null=True, blank=True)
    user = models.OneToOneField(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            # My Org's order, with the id that breaks its ties: a page's ids are read from the index alone.
            models.Index(
                fields=["organization", "last_name", "first_name", "id"], name="person_org_name_order"
            ),
            # A new record joins the person with its email, whatever the case: found by index, page by page.
            models.Index(F("organization"), Lower("work_email"), name="person_org_email_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or f"{self.first_name} {self.last_name}".strip() or self.work_email


class SourceIdentity(models.Model):
    """A person as one linked account knows them: Merge's id, the source's id and its references."""

    # Found by the unique constraint and the index below, which begin with it.
    integration = models.ForeignKey(
        "integrations.Integration", on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    merge_id = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=255, blank=True)
    modified_at = models.DateTimeField(null=True, blank=True)
    # A digest of everything mapped from the record: an unchanged record costs no write.
    digest = models.CharField(max_length=32)
    manager_merge_id = models.CharField(max_length=64, blank=True)
    team_merge_id = models.CharField(max_length=64, blank=True)
    group_merge_ids = models.JSONField(default=list, blank=True)
    location_merge_id = models.CharField(max_length=64, blank=True)
    seen_in_run = models.BigIntegerField(default=0, db_index=True)
    # A former employment of the person (a rehire came under a new id): its changes no longer speak for them.
    superseded = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "merge_id"], name="one_identity_per_source_record")
        ]
        # Found by the provider's id when a relink brings the same records under new Merge ids.
        indexes = [models.Index(fields=["integration", "remote_id"], name="identity_remote_id")]

    def __str__(self) -> str:
        return f"{self.merge_id} in integration {self.integration_id}"


class GroupKind(models.TextChoices):
    TEAM = "team", "Team"
    GROUP = "group", "Group"
    LOCATION = "location", "Location"


class DirectoryGroup(models.Model):
    """Teams, groups (departments, cost centres…) and locations of a linked account, by Merge id."""

    integration = models.ForeignKey(
        "integrations.Integration", on_delete=models.CASCADE, related_name="groups"
    )
    kind = models.CharField(max_length=16, choices=GroupKind.choices)
    merge_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    group_type = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "kind", "merge_id"], name="one_group_per_source_record"
            )
        ]

    def __str__(self) -> str:
        return self.name

"""The organization's people, as its HRIS or CRM says they are."""

from typing import Self

from django.db import models
from django.db.models import Q

from skillibrium.accounts.models import Organization


class EmploymentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    PENDING = "PENDING", "Pending"
    INACTIVE = "INACTIVE", "Inactive"


class PersonQuerySet(models.QuerySet["Person"]):
    def for_org(self, organization: Organization) -> Self:
        return self.filter(organization=organization)

    def search(self, text: str) -> Self:
        query = Q()
        for word in text.split():
            query &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(work_email__icontains=word)
                | Q(title__icontains=word)
                | Q(team__icontains=word)
            )
        return self.filter(query)


class Person(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="people")
    integration = models.ForeignKey(
        "integrations.Integration", null=True, on_delete=models.SET_NULL, related_name="people"
    )
    merge_id = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=255, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    display_name = models.CharField(max_length=300, blank=True)
    work_email = models.EmailField(blank=True)
    title = models.CharField(max_length=255, blank=True)
    team = models.CharField(max_length=255, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    manager_merge_id = models.CharField(max_length=64, blank=True)
    employment_status = models.CharField(
        max_length=16, choices=EmploymentStatus.choices, default=EmploymentStatus.ACTIVE
    )
    termination_date = models.DateField(null=True, blank=True)
    remote_was_deleted = models.BooleanField(default=False)
    user = models.OneToOneField(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    source_modified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "merge_id"], name="one_person_per_source_record")
        ]
        indexes = [models.Index(fields=["organization", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or f"{self.first_name} {self.last_name}".strip() or self.work_email

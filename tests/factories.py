"""Plain typed factory functions for the product's models."""

import itertools

from skillibrium.accounts.models import Membership, Organization, Role, User
from skillibrium.integrations.choices import Category, Health
from skillibrium.integrations.models import Integration

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_org(name: str = "") -> Organization:
    return Organization.objects.create(name=name or f"Org {next(_seq)}")


def make_user(organization: Organization, *, role: Role = Role.MEMBER, email: str = "") -> User:
    user = User.objects.create_user(email or f"user{next(_seq)}@example.com", PASSWORD)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def make_integration(
    organization: Organization, *, category: Category = Category.HRIS, health: Health = Health.HEALTHY
) -> Integration:
    n = next(_seq)
    return Integration.objects.create(
        organization=organization,
        category=category,
        provider_slug="workday" if category == Category.HRIS else "salesforce",
        provider_name="Workday" if category == Category.HRIS else "Salesforce",
        merge_account_id=f"account-{n}",
        account_token=f"token-{n}",
        health=health,
    )

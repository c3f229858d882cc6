"""Helpers for tests that attack tenant isolation: every model that belongs to an organization, a row of each
for a victim organization (made generically, so models added later are covered), and a snapshot of its data.

Every string the victim's rows hold starts with "bravo", so any page that shows any of it is caught."""

import datetime as dt
import itertools
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from skillibrium.accounts.models import Organization, Role, User
from skillibrium.core.crypto import EncryptedTextField
from skillibrium.integrations.choices import ReviewState

from .factories import make_integration, make_org, make_sso, make_user

MARK = "bravo"
SECRET_MARK = f"{MARK}-secret"
_seq = itertools.count(1)


def organization_path(model: type[models.Model], depth: int = 4) -> str | None:
    """The ORM lookup from a model to its Organization, following foreign keys (and a user's membership)."""
    if model is Organization:
        return "pk"
    queue: deque[tuple[type[models.Model], str, int]] = deque([(model, "", 0)])
    while queue:
        current, path, hops = queue.popleft()
        if hops >= depth:
            continue
        for field in current._meta.get_fields():
            if field.is_relation and (field.many_to_one or field.one_to_one) and field.related_model:
                target = field.related_model  # forward keys, and reverse one-to-ones (a user's membership)
                lookup = f"{path}__{field.name}" if path else field.name
                if target is Organization:
                    return lookup
                if isinstance(target, type) and target is not current:
                    queue.append((target, lookup, hops + 1))
    return None


def tenant_models() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        path = organization_path(model)
        if path is not None and model is not Organization:
            found.append((model, path))
    found.append((Organization, "pk"))
    return found


def _related(field: models.Field[Any, Any], owner: Organization, made: dict[type[models.Model], Any]) -> Any:
    """The victim's own row for a relation: an existing one, or a new one where a one-to-one needs it."""
    target = field.related_model
    assert isinstance(target, type)
    if target is Organization:
        return owner
    if target is User:
        return make_user(owner) if field.one_to_one else made[User]
    path = organization_path(target)
    existing = target._default_manager.filter(**{path: owner.pk}).first() if path else made.get(target)
    # A one-to-one takes the victim's existing row unless a row of this kind holds it already.
    taken = existing is not None and field.model._default_manager.filter(**{field.name: existing}).exists()
    if existing is not None and not (field.one_to_one and taken):
        return existing
    return fill_row(target, owner, made)


def _existing(field: models.Field[Any, Any], owner: Organization, made: dict[type[models.Model], Any]) -> Any:
    target = field.related_model
    assert isinstance(target, type)
    if target in (Organization, User):
        return _related(field, owner, made)
    path = organization_path(target)
    return target._default_manager.filter(**{path: owner.pk}).first() if path else None


def _value(field: models.Field[Any, Any], owner: Organization, made: dict[type[models.Model], Any]) -> Any:
    n = next(_seq)
    if isinstance(field, models.ForeignKey | models.OneToOneField):
        return _related(field, owner, made)
    if field.choices:
        return field.choices[0][0] if field.choices[0][0] != "" else field.choices[-1][0]
    if isinstance(field, models.EmailField):
        return f"{MARK}{n}@{MARK}.example"
    if isinstance(field, models.URLField):
        return f"https://{MARK}.example/{n}"
    if isinstance(field, EncryptedTextField):
        return f"{SECRET_MARK}-{n}"
    if isinstance(field, models.TextField):
        return f"{MARK}-{n}"
    if isinstance(field, models.CharField):
        return f"{MARK}-{n}"[: field.max_length]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now() + dt.timedelta(days=1)
    if isinstance(field, models.DateField):
        return timezone.now().date()
    if isinstance(field, models.DecimalField):
        return Decimal(1)
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.JSONField):
        return {"note": MARK}
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    raise TypeError(f"no test value for {field!r}")


def fill_row(model: type[models.Model], owner: Organization, made: dict[type[models.Model], Any]) -> Any:
    """One row of any model, for the victim: required fields get marked values, relations its rows."""
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.auto_created:
            continue
        if isinstance(field, models.ForeignKey) and field.null:
            values[field.name] = _existing(field, owner, made)  # the victim's own row, if there is one
        elif isinstance(field, models.ForeignKey):
            values[field.name] = _related(field, owner, made)
        elif isinstance(field, models.CharField | models.TextField) and not field.choices:
            values[field.name] = _value(field, owner, made)  # marked even when optional
        elif not (field.has_default() or field.null or getattr(field, "auto_now_add", False)):
            values[field.name] = _value(field, owner, made)
    row = model._default_manager.create(**values)
    made.setdefault(model, row)
    return row


def spread_sequences() -> None:
    """Give each table its own id range, so an id names one row of one table: a victim's id of any kind never
    equals one of the attacker's rows by chance."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for index, model in enumerate(apps.get_models()):
            pk = model._meta.pk
            if not isinstance(pk, models.AutoField | models.BigAutoField) or model._meta.proxy:
                continue
            table = model._meta.db_table
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), pk.column]
            )
            sequence = cursor.fetchone()[0]
            if sequence:
                cursor.execute("SELECT setval(%s, %s)", [sequence, 1_000_000 * (index + 1) + next(_seq)])


@dataclass
class Victim:
    organization: Organization
    admin: User
    rows: dict[type[models.Model], Any]
    paths: dict[type[models.Model], str]

    def ids(self) -> dict[int, type[models.Model]]:
        """Every id the victim owns, and its table."""
        owned: dict[int, type[models.Model]] = {}
        for model, path in self.paths.items():
            for pk in model._default_manager.filter(**{path: self.organization.pk}).values_list(
                "pk", flat=True
            ):
                if isinstance(pk, int):
                    owned[pk] = model
        return owned

    def strings(self, name: str) -> list[str]:
        """Values of the victim's fields with this name (a token in a URL, say)."""
        found = []
        for model, path in self.paths.items():
            if any(f.name == name for f in model._meta.concrete_fields):
                rows = model._default_manager.filter(**{path: self.organization.pk})
                found += [str(v) for v in rows.values_list(name, flat=True)]
        return found

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {
            model._meta.label: list(
                model._default_manager.filter(**{path: self.organization.pk}).order_by("pk").values()
            )
            for model, path in self.paths.items()
        }


def make_victim() -> Victim:
    """Bravo: an organization with a row in every table that belongs to an organization."""
    spread_sequences()
    organization = make_org(f"{MARK.title()} Secret Org")
    admin = make_user(organization, role=Role.ADMIN, email=f"{MARK}-admin@{MARK}.example")
    make_user(organization, email=f"{MARK}-member@{MARK}.example")
    integration = make_integration(organization)
    integration.provider_name = f"{MARK.title()}HRIS"
    integration.account_token = f"{SECRET_MARK}-account-token"
    # Its first sync waits for review: another organization confirming or declining it changes nothing.
    integration.review_state = ReviewState.PENDING
    integration.review_summary = {"people": 1, "create": 1, "create_examples": [f"{MARK}-new@{MARK}.example"]}
    integration.review_summary_at = timezone.now()
    integration.save()
    sso = make_sso(organization, protocol="oidc", domains=(f"{MARK}.example",))
    sso.display_name = f"{MARK.title()} IdP"
    sso.oidc_client_secret = f"{SECRET_MARK}-client"
    sso.save()
    made: dict[type[models.Model], Any] = {User: admin, Organization: organization}
    paths = dict(tenant_models())
    for model, path in paths.items():
        if not model._default_manager.filter(**{path: organization.pk}).exists():
            fill_row(model, organization, made)
    return Victim(organization=organization, admin=admin, rows=made, paths=paths)

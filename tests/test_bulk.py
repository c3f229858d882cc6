"""The set-based writes and lookups a sync is built on, against the real database."""

import pytest
from django.db import connection
from django.db.models.functions import Lower

from skillibrium.accounts.models import User
from skillibrium.core.bulk import batch_transaction, insert_rows, update_rows
from skillibrium.core.models import AuditEntry

from .factories import make_org

pytestmark = pytest.mark.django_db


def test_insert_rows_returns_the_new_ids_in_order_with_defaults_filled() -> None:
    org = make_org()
    rows = [(org.pk, f"user.{n}", {"n": n, "tags": ["a", "b"]}) for n in range(2500)]

    ids = insert_rows(AuditEntry, ["organization", "action", "detail"], rows)

    assert len(ids) == len(set(ids)) == 2500
    stored = dict(AuditEntry.objects.filter(pk__in=ids).values_list("pk", "detail"))
    assert [stored[pk]["n"] for pk in ids] == list(range(2500))
    first = AuditEntry.objects.get(pk=ids[0])
    assert first.target == "" and first.at is not None and first.detail["tags"] == ["a", "b"]
    # The sequence moved past the ids taken, so the ORM's next insert does not collide.
    assert AuditEntry.objects.create(organization=org, action="after").pk > max(ids)


def test_update_rows_sets_each_row_by_primary_key() -> None:
    org = make_org()
    ids = insert_rows(AuditEntry, ["organization", "action"], [(org.pk, "old")] * 3)

    assert update_rows(AuditEntry, ["action", "target"], [(ids[0], "new", "x"), (ids[2], "new", "z")]) == 2

    assert list(AuditEntry.objects.filter(pk__in=ids).order_by("pk").values_list("action", "target")) == [
        ("new", "x"),
        ("old", ""),
        ("new", "z"),
    ]


def test_any_of_finds_what_in_finds() -> None:
    users = [User.objects.create_user(f"Person.{n}@any.example") for n in range(5)]
    wanted = {"person.1@any.example", "person.3@any.example", "nobody@any.example"}
    lowered = User.objects.annotate(key=Lower("email"))

    assert set(lowered.filter(key__any_of=wanted)) == set(lowered.filter(key__in=wanted))
    assert {u.pk for u in lowered.filter(key__any_of=wanted)} == {users[1].pk, users[3].pk}
    assert not User.objects.filter(pk__any_of=[]).exists()
    assert User.objects.filter(pk__any_of=[u.pk for u in users[:2]]).count() == 2


AWKWARD = ['say "hi"', "back\\slash\\", "{braces},commas", "NULL", "", "  spaced  ", "naïve ☃", "\t\n"]


def test_texts_and_nulls_travel_intact_through_updates_and_lookups() -> None:
    org = make_org()
    ids = insert_rows(AuditEntry, ["organization", "action"], [(org.pk, "old")] * len(AWKWARD))
    actor = User.objects.create_user("actor@any.example")

    update_rows(
        AuditEntry, ["target", "actor"], [(pk, text, None) for pk, text in zip(ids, AWKWARD, strict=True)]
    )
    update_rows(AuditEntry, ["actor"], [(ids[0], actor.pk)])

    stored = AuditEntry.objects.filter(pk__in=ids).order_by("pk")
    assert list(stored.values_list("target", flat=True)) == AWKWARD
    assert list(stored.values_list("actor", flat=True)) == [actor.pk] + [None] * (len(AWKWARD) - 1)
    found = AuditEntry.objects.filter(organization=org, target__any_of=[*AWKWARD[:4], "absent"])
    assert sorted(found.values_list("target", flat=True)) == sorted(AWKWARD[:4])


@pytest.mark.django_db(transaction=True)
def test_a_batch_transaction_plans_for_memory_only_inside_itself() -> None:
    def random_page_cost() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW random_page_cost")
            return str(cursor.fetchone()[0])

    before = random_page_cost()
    with batch_transaction():
        assert random_page_cost() == "1.1"
    assert random_page_cost() == before

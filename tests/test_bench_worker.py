"""The bench times a run's phases by wrapping functions where the run calls them: they must still be there."""

import importlib

import pytest

from bench import directory_pages
from bench.worker import TIMED_PHASES


def test_every_phase_the_bench_times_is_where_the_run_calls_it() -> None:
    for module_name, name in TIMED_PHASES:
        assert callable(getattr(importlib.import_module(module_name), name, None)), f"{module_name}.{name}"


@pytest.mark.django_db
def test_the_people_bench_measures_what_it_says_over_its_organization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(directory_pages, "REPETITIONS", 1)
    monkeypatch.setattr(directory_pages, "SLOW_REPETITIONS", 1)
    result = directory_pages.run(1500)
    pages = result["people_page"]
    assert [pages[name]["rows"] for name in pages] == [50, 50, 50, 1, 1, 50, 10]
    assert [pages[name]["next_link"] for name in pages] == [True, True, False, False, False, True, False]
    assert result["first_sync_compute"]["counts"] == {
        "people": 1500,
        "already_linked": 1485,
        "linked_by_email": 15,
        "create": 0,
        "update": 0,
        "deactivate": 0,
    }
    assert result["vendor_switch_compare"]["counts"] == {
        "records": 1500,
        "matched": 1050,
        "new": 450,
        "only_in_old": 450,
        "leaving": 21,
        "matched_by": {"work email": 750, "employee number": 300},
    }

"""The bench times a run's phases by wrapping functions where the run calls them: they must still be there."""

import importlib

from bench.worker import TIMED_PHASES


def test_every_phase_the_bench_times_is_where_the_run_calls_it() -> None:
    for module_name, name in TIMED_PHASES:
        assert callable(getattr(importlib.import_module(module_name), name, None)), f"{module_name}.{name}"

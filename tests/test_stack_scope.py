"""How `make test` shares tests out among workers and keeps a failed browser test from failing the next."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import stack_scope
from tests.e2e.conftest import Stack, relaunchable

CAUSES = "tests/e2e/test_causes_browser.py"


def test_a_browser_modules_tests_share_a_scope_per_environment() -> None:
    tests = ["test_each_break_is_named_then_relinked_and_caught_up[reset-password-hris-", "test_outage["]
    scopes = {stack_scope(f"{CAUSES}::{test}{env}]") for test in tests for env in ("sandbox", "production")}
    assert scopes == {f"{CAUSES}[sandbox]", f"{CAUSES}[production]"}
    assert stack_scope("tests/e2e/test_sso.py::test_oidc_sign_in_and_forged_or_replayed_tokens") == (
        "tests/e2e/test_sso.py"
    )


def test_any_other_test_is_a_scope_of_its_own() -> None:
    nodeid = "tests/test_url_walk.py::test_route_keeps_organizations_apart[settings/company/people/]"
    assert stack_scope(nodeid) == nodeid
    assert stack_scope("tests/test_x.py::test_y[sandbox]") == "tests/test_x.py::test_y[sandbox]"


def test_a_relaunch_replaces_the_stack_its_tests_hold_and_stops_the_old_one() -> None:
    started: list[str] = []
    stopped: list[str] = []

    @contextmanager
    def start() -> Iterator[Stack]:
        web = f"http://127.0.0.1:{8000 + len(started)}"
        started.append(web)
        yield Stack(web=web, sandbox=web, env={"N": str(len(started))}, mail=Path("/nonexistent"))
        stopped.append(web)

    with relaunchable(start) as stack:
        first = stack.web
        stack.spoiled = True
        stack.relaunch()
        assert (stack.web, stack.env, stack.spoiled) == ("http://127.0.0.1:8001", {"N": "2"}, False)
        assert stopped == [first]
    assert stopped == started == ["http://127.0.0.1:8000", "http://127.0.0.1:8001"]

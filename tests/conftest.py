from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from pytest_django.fixtures import Settings

from merge_sandbox.launch import running_sandbox

from .sandboxed import Sandbox

ROOT = Path(__file__).resolve().parent.parent
STACK_ENVIRONMENTS = ("sandbox", "production")


def stack_scope(nodeid: str) -> str:
    """The tests that must run in one process: a browser module's tests share its stack, one per
    SKILLIBRIUM_ENVIRONMENT it is parametrized with (the last part of a test's id); other tests go alone."""
    if not nodeid.startswith("tests/e2e/"):
        return nodeid
    module, _, rest = nodeid.partition("::")
    environment = rest.rstrip("]").rsplit("-", 1)[-1].rsplit("[", 1)[-1]
    return f"{module}[{environment}]" if environment in STACK_ENVIRONMENTS else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With -n and --dist loadscope (make test), workers take tests by `stack_scope`, largest scope first."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class StackScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return stack_scope(nodeid)

    return StackScheduling(config, log)


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Merge sandbox process, shared by the session's tests; each test makes its own tenants."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox") / "merge.sqlite3") as sandbox:
        yield sandbox.url


@pytest.fixture
def merge(settings: Settings, sandbox_url: str) -> str:
    settings.MERGE_API_URL = f"{sandbox_url}/api"
    settings.MERGE_LINK_SCRIPT_URL = f"{sandbox_url}/link/initialize.js"
    return sandbox_url


@pytest.fixture
def sandbox(merge: str) -> Iterator[Sandbox]:
    """The session's sandbox for one test: whatever fault or outage the test switches on is off after it."""
    box = Sandbox(merge)
    yield box
    box.control("DELETE", "faults")
    box.control("DELETE", "outage")


@pytest.fixture(autouse=True)
def unpaced_merge_calls(settings: Settings) -> None:
    """The sandbox answers at once and has no plan limit unless a test sets one: pacing every test's calls at
    Merge's 100 a minute only adds waiting. The limiter has tests of its own, and the bench runs paced."""
    settings.MERGE_RATE_LIMIT_PER_MINUTE = 0


@pytest.fixture(autouse=True)
def fleet_failures_of_this_test(request: pytest.FixtureRequest) -> None:
    """Failed requests to Merge are counted for the whole fleet in the database, and a page reader thread's
    are committed even in a test that rolls back: each test starts with no failures in the fleet's window."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from skillibrium.merge_client.models import FailedRequest

    FailedRequest.objects.all().delete()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    """Hash strength is Django's concern, not the tests'; tests sign in often and need not wait for PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser(django_db_setup: None) -> Iterator[Browser]:
    """Chromium, started after the test database exists: a worker whose first tests drove the browser failed
    to create it afterwards (SynchronousOnlyOperation: Playwright marks its event loop as running in the
    calling thread between calls)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()

"""The help article's three causes, each striking at a different moment of a run: before it (at the account
check), while its pages are read, and again during the catch-up after the first recovery. Whatever the moment,
once the connection is back the directory equals the source, each leaver is deactivated exactly once, nobody
else loses access, and admins get one "action required" email per credential break and none for an outage."""

from collections.abc import Callable

import pytest
from pytest_django.fixtures import Settings

from skillibrium.accounts.models import User
from skillibrium.core.models import AuditEntry
from skillibrium.directory.models import Person
from skillibrium.integrations import relink
from skillibrium.integrations.choices import Cause, Health, Trigger
from skillibrium.integrations.models import Integration
from skillibrium.sync import engine, read
from skillibrium.sync.models import RunStatus, SyncRun

from .factories import make_org
from .mailbox import clear_mail, sent_mail
from .sandboxed import Sandbox, assert_matches_source, link

pytestmark = pytest.mark.django_db

CREDENTIAL_BREAKS = {"password_reset": "reset-password", "expired_credentials": "expire-credential"}
PHASES = ("at_the_account_check", "while_pages_are_read", "during_the_catch_up")
# Requests a run makes before its second list page: account details, issues, sync status and one list page.
# An outage armed after them strikes mid-read, however the fetching thread and the writer interleave.
REQUESTS_BEFORE_THE_READ = 4


@pytest.fixture
def sandbox(merge: str) -> Sandbox:
    sandbox = Sandbox(merge)
    yield sandbox
    sandbox.control("DELETE", "outage")


class Scenario:
    """One organization linked to a sandbox tenant, with leavers and a hire waiting at the source."""

    def __init__(self, sandbox: Sandbox, cause: str) -> None:
        self.sandbox, self.cause = sandbox, cause
        self.tenant = sandbox.tenant(size=200, seed=40 + len(cause))
        self.integration, self.admin = link(sandbox, make_org(), self.tenant)
        self.password = self.tenant["password"]
        assert self.run(Trigger.SETUP).status == RunStatus.SUCCEEDED
        clear_mail()
        users = Person.objects.for_org(self.integration.organization).filter(user__is_active=True)
        self.leavers = [p.user.email for p in users.select_related("user").order_by("pk")[:2] if p.user]
        for person in users.order_by("pk")[:2]:
            remote_id = person.identities.get().remote_id
            sandbox.control("POST", f"tenants/{self.tenant['id']}/people/{remote_id}/terminate")
        sandbox.control("POST", f"tenants/{self.tenant['id']}/people")
        sandbox.merge_sync()
        # Read everything again, so that the run has several pages for a break to fall between.
        Integration.objects.filter(pk=self.integration.pk).update(sync_watermark=None)

    def run(self, trigger: Trigger, progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
        run = engine.sync_integration(integration_id=self.integration.pk, trigger=trigger, progress=progress)
        assert run is not None
        self.integration.refresh_from_db()
        return run

    def strike(self, *, mid_read: bool) -> None:
        if self.cause == "merge_outage":
            after = REQUESTS_BEFORE_THE_READ if mid_read else 0
            self.sandbox.control("POST", "outage", mode="503", after_requests=after)
            return
        broken = self.sandbox.control("POST", f"tenants/{self.tenant['id']}/{CREDENTIAL_BREAKS[self.cause]}")
        self.password = broken.get("password") or self.password
        self.sandbox.merge_sync()  # Merge's own sync meets the refusal and marks the account

    def run_through_a_break(self, trigger: Trigger, *, mid_read: bool) -> None:
        """A run meets the break; for a credential break met mid-read, Merge still serves what it had, so the
        run finishes and the next one finds the account needing a relink."""
        struck: list[bool] = []

        def strike_after_the_first_batch(run: SyncRun) -> None:
            if not struck:
                struck.append(True)
                self.strike(mid_read=True)

        if not mid_read:
            self.strike(mid_read=False)
        elif self.cause == "merge_outage":
            self.strike(mid_read=True)
        progress = strike_after_the_first_batch if mid_read and self.cause != "merge_outage" else None
        first = self.run(trigger, progress)
        if first.status == RunStatus.SUCCEEDED:
            assert mid_read and self.cause != "merge_outage"
            assert self.run(Trigger.SCHEDULE).status == RunStatus.FAILED
        else:
            assert first.deactivated == 0
        expected = (
            (Health.DEGRADED, Cause.MERGE_OUTAGE)
            if self.cause == "merge_outage"
            else (Health.RELINK_NEEDED, Cause(self.cause))
        )
        assert (self.integration.health, self.integration.cause) == expected
        self.assert_no_one_lost_access_wrongly()

    def recover(self) -> Trigger:
        if self.cause == "merge_outage":
            self.sandbox.control("DELETE", "outage")
            return Trigger.SCHEDULE
        token = relink.start_link(
            organization=self.integration.organization, category="hris", email=self.admin.email
        )
        public = self.sandbox.complete_link(token, self.tenant, self.password)
        relink.complete_relink(
            integration=self.integration, public_token=public, membership=self.admin.membership
        )
        return Trigger.RELINK

    def assert_no_one_lost_access_wrongly(self) -> None:
        inactive = User.objects.filter(
            membership__organization=self.integration.organization, is_active=False
        ).values_list("email", flat=True)
        assert set(inactive) <= set(self.leavers)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("cause", ["password_reset", "expired_credentials", "merge_outage"])
def test_a_break_at_any_phase_loses_nothing_and_deactivates_only_leavers(
    sandbox: Sandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch, cause: str, phase: str
) -> None:
    settings.MERGE_RETRY_ATTEMPTS = 1
    monkeypatch.setattr(read, "WRITE_BATCH", 100)  # each page its own batch: a break can fall between them
    scenario = Scenario(sandbox, cause)

    scenario.run_through_a_break(Trigger.SCHEDULE, mid_read=phase == "while_pages_are_read")
    trigger = scenario.recover()
    breaks = 1
    if phase == "during_the_catch_up":
        scenario.run_through_a_break(trigger, mid_read=True)
        trigger = scenario.recover()
        breaks = 2
    caught_up = scenario.run(trigger)

    assert caught_up.status == RunStatus.SUCCEEDED, caught_up.error
    assert scenario.integration.health == Health.HEALTHY
    assert_matches_source(sandbox, scenario.integration, scenario.tenant["id"])
    deactivations = AuditEntry.objects.filter(
        organization=scenario.integration.organization, action="user.deactivated"
    )
    assert sorted(deactivations.values_list("target", flat=True)) == sorted(scenario.leavers)
    alerts = [m for m in sent_mail() if "Action required" in m.subject]
    assert len(alerts) == (0 if cause == "merge_outage" else breaks)

"""The measured steps, each run in its own process by bench.child: `python -m bench.worker STEP ...`.

Each prints one JSON line. Times cover the work alone, not interpreter or Django start-up.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillibrium.settings")
    import django

    django.setup()


def link(args: argparse.Namespace) -> dict[str, Any]:
    """An organization that links the tenant through Merge Link's token exchange, as a customer does."""
    _django()
    from skillibrium.accounts.models import Membership, Organization, Role, User
    from skillibrium.integrations import relink
    from skillibrium.integrations.choices import Category
    from skillibrium.provisioning.models import ProvisioningPolicy

    tenant: dict[str, Any] = json.loads(args.tenant)
    organization = Organization.objects.create(name=tenant["name"])
    ProvisioningPolicy.objects.create(organization=organization, send_invitations=False)
    admin = User.objects.create_user(f"admin@{organization.merge_origin_id}.bench.example")
    membership = Membership.objects.create(user=admin, organization=organization, role=Role.ADMIN)
    link_token = relink.start_link(
        organization=organization, category=Category.HRIS, email=admin.email, integration="workday"
    )
    credentials = {
        "tenant": tenant["subdomain"],
        "username": tenant["username"],
        "password": tenant["password"],
    }
    public = httpx.post(f"{args.sandbox}/_sandbox/link/{link_token}/complete", json=credentials, timeout=60)
    integration = relink.connect(
        organization=organization,
        category=Category.HRIS,
        public_token=public.raise_for_status().json()["public_token"],
        membership=membership,
        review_first_sync=False,  # the bench times the first sync's provisioning
    )
    return {
        "integration_id": integration.pk,
        "account_id": integration.merge_account_id,
        "account_token": integration.account_token,
    }


# The run's phases, timed where the run calls them: each name in the module that imported it.
TIMED_PHASES = (
    ("skillibrium.sync.read", "refresh_groups"),
    ("skillibrium.sync.engine", "resolve_references"),
    ("skillibrium.sync.engine", "provision_organization"),
)


def _timed[T](phases: dict[str, float], name: str, call: Callable[..., T]) -> Callable[..., T]:
    def wrapper(*args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - started, 2)

    return wrapper


def sync(args: argparse.Namespace) -> dict[str, Any]:
    """One run of Skillibrium's engine, with the time spent in each of its phases."""
    _django()
    from skillibrium.integrations.choices import Trigger
    from skillibrium.sync import engine

    phases: dict[str, float] = {}
    for module_name, name in TIMED_PHASES:
        module = importlib.import_module(module_name)
        setattr(module, name, _timed(phases, name, getattr(module, name)))
    started = time.perf_counter()
    run = engine.sync_integration(integration_id=args.integration, trigger=Trigger(args.trigger))
    elapsed = time.perf_counter() - started
    if run is None:
        raise SystemExit("the sync did not run: another held the lease")
    phases["pages_and_upserts"] = round(elapsed - sum(phases.values()), 2)
    return {
        "seconds": round(elapsed, 2),
        "status": run.status,
        "error": run.error,
        "pages": run.pages,
        "requests": run.requests,
        "rate_limited": run.rate_limited,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "provisioned": run.provisioned,
        "phases": phases,
    }


def fetch(args: argparse.Namespace) -> dict[str, Any]:
    from bench.peers import fetch_every_page

    return fetch_every_page(args.sandbox, args.token)


def load_with_dlt(args: argparse.Namespace) -> dict[str, Any]:
    from bench.peers import dlt_load

    return dlt_load(args.sandbox, args.token, args.database_url, Path(args.workdir))


def people_pages(args: argparse.Namespace) -> dict[str, Any]:
    """The People page, the first sync's summary and the switch preview over one large organization."""
    _django()
    from bench import directory_pages

    return directory_pages.run(args.people)


def ui_pages(args: argparse.Namespace) -> dict[str, Any]:
    """My Org, People, the audit log and the review queue at size, and the CSV export under uvicorn."""
    _django()
    from bench import ui_pages

    return ui_pages.run(args.people, args.audit)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("link")
    step.add_argument("--sandbox", required=True)
    step.add_argument("--tenant", required=True, help="the tenant as the control API returned it (JSON)")
    step.set_defaults(call=link)
    step = steps.add_parser("sync")
    step.add_argument("--integration", type=int, required=True)
    step.add_argument("--trigger", default="setup")
    step.set_defaults(call=sync)
    step = steps.add_parser("fetch")
    step.add_argument("--sandbox", required=True)
    step.add_argument("--token", required=True)
    step.set_defaults(call=fetch)
    step = steps.add_parser("dlt")
    step.add_argument("--sandbox", required=True)
    step.add_argument("--token", required=True)
    step.add_argument("--database-url", required=True)
    step.add_argument("--workdir", required=True)
    step.set_defaults(call=load_with_dlt)
    step = steps.add_parser("people")
    step.add_argument("--people", type=int, default=100_000)
    step.set_defaults(call=people_pages)
    step = steps.add_parser("ui")
    step.add_argument("--people", type=int, default=100_000)
    step.add_argument("--audit", type=int, default=1_000_000)
    step.set_defaults(call=ui_pages)
    args = parser.parse_args()
    print(json.dumps(args.call(args)))


if __name__ == "__main__":
    main()

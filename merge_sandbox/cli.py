"""Command line over the control API: every `/_sandbox` route has a command here."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8765"
Call = tuple[str, str, dict[str, Any] | None]
Builder = Callable[[argparse.Namespace], Call]


def pairs(items: list[str] | None) -> dict[str, Any]:
    """`key=value` arguments; values are read as JSON when they parse, else kept as text."""
    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {item!r}")
        try:
            result[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            result[key.replace("-", "_")] = value
    return result


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


COMMANDS: dict[tuple[str, str], tuple[list[tuple[str, dict[str, Any]]], Builder]] = {
    ("tenant", "create"): (
        [
            ("--provider", {"required": True}),
            ("--name", {"required": True}),
            ("--size", {"type": int, "default": 25}),
            ("--seed", {"type": int, "default": 1}),
            ("--username", {}),
            ("--password", {}),
            ("--domain", {}),
            (
                "--people-from",
                {"help": "an HRIS tenant (id or subdomain): a CRM's users are `size` of its people"},
            ),
        ],
        lambda a: (
            "POST",
            "/_sandbox/tenants",
            _drop_none(
                {
                    "provider": a.provider,
                    "name": a.name,
                    "size": a.size,
                    "seed": a.seed,
                    "username": a.username,
                    "password": a.password,
                    "domain": a.domain,
                    "people_from": a.people_from,
                }
            ),
        ),
    ),
    ("tenant", "list"): ([], lambda a: ("GET", "/_sandbox/tenants", None)),
    ("tenant", "show"): ([("tenant", {})], lambda a: ("GET", f"/_sandbox/tenants/{a.tenant}", None)),
    ("tenant", "reset-password"): (
        [("tenant", {}), ("--password", {})],
        lambda a: (
            "POST",
            f"/_sandbox/tenants/{a.tenant}/reset-password",
            _drop_none({"password": a.password}),
        ),
    ),
    ("tenant", "expire-credential"): (
        [("tenant", {})],
        lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/expire-credential", {}),
    ),
    ("tenant", "revoke-permission"): (
        [("tenant", {}), ("--permission", {})],
        lambda a: (
            "POST",
            f"/_sandbox/tenants/{a.tenant}/revoke-permission",
            _drop_none({"permission": a.permission}),
        ),
    ),
    ("tenant", "grant-permission"): (
        [("tenant", {}), ("--permission", {})],
        lambda a: (
            "POST",
            f"/_sandbox/tenants/{a.tenant}/grant-permission",
            _drop_none({"permission": a.permission}),
        ),
    ),
    ("tenant", "expire-mfa"): (
        [("tenant", {})],
        lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/expire-mfa", {}),
    ),
    ("tenant", "offline"): (
        [("tenant", {})],
        lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/offline", {}),
    ),
    ("tenant", "online"): ([("tenant", {})], lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/online", {})),
    ("person", "list"): (
        [("tenant", {}), ("--after", {"default": ""}), ("--limit", {"type": int, "default": 100})],
        lambda a: ("GET", f"/_sandbox/tenants/{a.tenant}/people?after={a.after}&limit={a.limit}", None),
    ),
    ("person", "show"): (
        [("tenant", {}), ("remote_id", {})],
        lambda a: ("GET", f"/_sandbox/tenants/{a.tenant}/people/{a.remote_id}", None),
    ),
    ("person", "hire"): (
        [("tenant", {}), ("fields", {"nargs": "*", "help": "key=value, e.g. first_name=Ada title=Engineer"})],
        lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/people", pairs(a.fields)),
    ),
    ("person", "change"): (
        [("tenant", {}), ("remote_id", {}), ("fields", {"nargs": "+", "help": "key=value, e.g. title=CTO"})],
        lambda a: ("PATCH", f"/_sandbox/tenants/{a.tenant}/people/{a.remote_id}", pairs(a.fields)),
    ),
    ("person", "terminate"): (
        [
            ("tenant", {}),
            ("remote_id", {}),
            ("--date", {"help": "YYYY-MM-DD; a future date is applied then"}),
        ],
        lambda a: (
            "POST",
            f"/_sandbox/tenants/{a.tenant}/people/{a.remote_id}/terminate",
            _drop_none({"date": a.date}),
        ),
    ),
    ("person", "rehire"): (
        [("tenant", {}), ("remote_id", {})],
        lambda a: ("POST", f"/_sandbox/tenants/{a.tenant}/people/{a.remote_id}/rehire", {}),
    ),
    ("person", "delete"): (
        [("tenant", {}), ("remote_id", {})],
        lambda a: ("DELETE", f"/_sandbox/tenants/{a.tenant}/people/{a.remote_id}", None),
    ),
    ("sync", "run"): (
        [("--account", {})],
        lambda a: ("POST", "/_sandbox/sync", _drop_none({"linked_account_id": a.account})),
    ),
    ("account", "list"): ([], lambda a: ("GET", "/_sandbox/linked-accounts", None)),
    ("account", "status"): (
        [("account", {}), ("--status", {"required": True}), ("--detail", {"default": ""})],
        lambda a: (
            "POST",
            f"/_sandbox/linked-accounts/{a.account}/status",
            {"status": a.status, "status_detail": a.detail},
        ),
    ),
    ("account", "rate-limit"): (
        [
            ("account", {}),
            ("--per-minute", {"type": int}),
            ("--plan", {"choices": ["launch", "professional", "enterprise"]}),
        ],
        lambda a: (
            "PUT",
            f"/_sandbox/linked-accounts/{a.account}/rate-limit",
            _drop_none({"per_minute": a.per_minute, "plan": a.plan}),
        ),
    ),
    ("issue", "inject"): (
        [
            ("--account", {"required": True}),
            ("--description", {"default": "Third party offline"}),
            ("--resolved", {"action": "store_true"}),
        ],
        lambda a: (
            "POST",
            "/_sandbox/issues",
            {
                "linked_account_id": a.account,
                "error_description": a.description,
                "status": "RESOLVED" if a.resolved else "ONGOING",
            },
        ),
    ),
    ("link", "complete"): (
        [
            ("link_token", {}),
            ("--tenant", {"default": ""}),
            ("--username", {"required": True}),
            ("--password", {"required": True}),
        ],
        lambda a: (
            "POST",
            f"/_sandbox/link/{a.link_token}/complete",
            {"tenant": a.tenant, "username": a.username, "password": a.password},
        ),
    ),
    ("clock", "show"): ([], lambda a: ("GET", "/_sandbox/clock", None)),
    ("clock", "advance"): (
        [
            ("--days", {"type": float}),
            ("--hours", {"type": float}),
            ("--minutes", {"type": float}),
            ("--seconds", {"type": float}),
        ],
        lambda a: (
            "POST",
            "/_sandbox/clock/advance",
            _drop_none({"days": a.days, "hours": a.hours, "minutes": a.minutes, "seconds": a.seconds}),
        ),
    ),
    ("outage", "start"): (
        [
            ("--mode", {"default": "503", "choices": ["500", "502", "503", "504", "timeout", "refuse"]}),
            ("--hang-seconds", {"type": float}),
            ("--after-requests", {"type": int}),
        ],
        lambda a: (
            "POST",
            "/_sandbox/outage",
            _drop_none({"mode": a.mode, "hang_seconds": a.hang_seconds, "after_requests": a.after_requests}),
        ),
    ),
    ("outage", "stop"): ([], lambda a: ("DELETE", "/_sandbox/outage", None)),
    ("faults", "show"): ([], lambda a: ("GET", "/_sandbox/faults", None)),
    ("faults", "set"): (
        [("settings", {"nargs": "+", "help": "key=value, e.g. latency_ms=200 rate_limit_per_minute=100"})],
        lambda a: ("PUT", "/_sandbox/faults", pairs(a.settings)),
    ),
    ("faults", "clear"): ([], lambda a: ("DELETE", "/_sandbox/faults", None)),
    ("webhooks", "list"): (
        [("--event", {"default": ""}), ("--state", {"default": ""})],
        lambda a: ("GET", f"/_sandbox/webhooks?event={a.event}&state={a.state}", None),
    ),
    ("webhooks", "clear"): ([], lambda a: ("DELETE", "/_sandbox/webhooks", None)),
    ("config", "show"): ([], lambda a: ("GET", "/_sandbox/config", None)),
    ("config", "set"): (
        [
            (
                "settings",
                {"nargs": "+", "help": "key=value, e.g. webhook_urls='[\"http://127.0.0.1:8000/hook\"]'"},
            )
        ],
        lambda a: ("PUT", "/_sandbox/config", pairs(a.settings)),
    ),
}


def add_client_commands(subparsers: Any) -> None:
    groups: dict[str, Any] = {}
    for (group, action), (arguments, builder) in COMMANDS.items():
        if group not in groups:
            parser = subparsers.add_parser(group, help=f"{group} commands")
            parser.add_argument("--url", default=os.environ.get("MERGE_SANDBOX_URL", DEFAULT_URL))
            groups[group] = parser.add_subparsers(dest="action", required=True)
        command = groups[group].add_parser(action)
        command.add_argument("--url", default=os.environ.get("MERGE_SANDBOX_URL", DEFAULT_URL))
        for name, options in arguments:
            command.add_argument(name, **options)
        command.set_defaults(builder=builder)


def run_client(args: argparse.Namespace) -> int:
    method, path, body = args.builder(args)
    try:
        response = httpx.request(method, args.url.rstrip("/") + path, json=body, timeout=3600)
    except httpx.HTTPError as exc:
        print(f"cannot reach the sandbox at {args.url}: {exc}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.is_success else 1

"""`python -m merge_sandbox serve ...` runs the sandbox; every other command talks to a running one."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from merge_sandbox.cli import add_client_commands, run_client
from merge_sandbox.settings import DEFAULT_PORT, env_overrides


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="merge-sandbox", description="A local emulator of Merge.dev's unified API."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve = subparsers.add_parser("serve", help="run the sandbox server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--db", default=os.environ.get("MERGE_SANDBOX_DB", "merge_sandbox.sqlite3"))
    serve.add_argument(
        "--sync-interval", type=float, help="seconds between Merge's periodic syncs; 0 disables"
    )
    serve.add_argument("--webhook-url", action="append", help="webhook receiver URL (repeatable)")
    serve.add_argument("--webhook-key", help="webhook signature key")
    add_client_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from merge_sandbox.server import serve

        overrides: dict[str, Any] = env_overrides()
        if args.sync_interval is not None:
            overrides["sync_interval"] = args.sync_interval
        if args.webhook_url:
            overrides["webhook_urls"] = args.webhook_url
        if args.webhook_key:
            overrides["webhook_key"] = args.webhook_key
        serve(args.host, args.port, args.db, overrides)
        return 0
    return run_client(args)


if __name__ == "__main__":
    sys.exit(main())

"""Responses, DRF-style errors, and Merge's two kinds of authentication."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from merge_sandbox.unified import accounts
from merge_sandbox.web.context import Sandbox

NO_ACCOUNT_TOKEN = "Account Token must be passed in as an X-Account-Token header."  # noqa: S105 - an error message, not a secret


class HttpError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def raw_json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def error_response(exc: HttpError) -> Response:
    return json_response({"detail": exc.detail, **exc.extra}, exc.status, exc.headers)


def sandbox(request: Request) -> Sandbox:
    box: Sandbox = request.app.state.sandbox
    return box


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def api_key_is_test(request: Request) -> bool:
    """Authenticate the Bearer API key; True for a test key."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if not header:
        raise HttpError(401, "Authentication credentials were not provided.")
    keys = sandbox(request).keys
    if scheme.lower() != "bearer" or key.strip() not in {keys.production, keys.test}:
        raise HttpError(401, "Invalid token.")
    return key.strip() == keys.test


def linked_account(request: Request, category: str) -> sqlite3.Row:
    """Authenticate the API key and the X-Account-Token, then count the call against the rate limit."""
    is_test = api_key_is_test(request)
    token = request.headers.get("x-account-token", "").strip()
    if not token:
        raise HttpError(401, NO_ACCOUNT_TOKEN)
    box = sandbox(request)
    account = accounts.by_token(box.store, token)
    if account is None or bool(account["is_test"]) != is_test:
        raise HttpError(401, "Invalid account token.")
    if account["category"] != category:
        raise HttpError(400, f"This linked account belongs to the {account['category']} category.")
    wait = box.faults.take_request(account["id"], box.clock.now().timestamp())
    if wait is not None:
        raise HttpError(
            429,
            "Rate limit exceeded for this linked account. Try again later.",
            headers={"Retry-After": str(int(wait + 0.999))},
        )
    return account


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, f"JSON parse error - {exc}") from exc

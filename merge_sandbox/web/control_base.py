"""Plumbing shared by the `/_sandbox` control routes: JSON in, JSON out, errors as `{"detail"}`."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from merge_sandbox.provider.people import PersonError
from merge_sandbox.provider.tenants import get_tenant
from merge_sandbox.unified.linking import LinkError
from merge_sandbox.web.http import HttpError, json_body, json_response, sandbox

Handler = Callable[[Request, dict[str, Any]], Any]


def control(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """Run a blocking handler in the thread pool and translate the domain's errors into HTTP ones."""

    async def endpoint(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise HttpError(400, "JSON body must be an object.")
        try:
            result = await run_in_threadpool(handler, request, body)
        except PersonError as exc:
            raise HttpError(exc.status, exc.message) from exc
        except LinkError as exc:
            raise HttpError(exc.status, exc.message, **exc.extra) from exc
        except (ValueError, TypeError) as exc:
            raise HttpError(400, str(exc)) from exc
        except KeyError as exc:
            raise HttpError(400, f"Unknown field: {exc.args[0]}") from exc
        if isinstance(result, Response):
            return result
        return json_response(result, status)

    return endpoint


def tenant_or_404(request: Request) -> sqlite3.Row:
    tenant = get_tenant(sandbox(request).store, str(request.path_params["tenant_id"]))
    if tenant is None:
        raise HttpError(404, "No such tenant.")
    return tenant


def seconds_from(body: dict[str, Any]) -> float:
    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    total = sum(float(body.get(unit, 0) or 0) * factor for unit, factor in units.items())
    if total <= 0:
        raise ValueError("give a positive amount in seconds, minutes, hours or days")
    return total

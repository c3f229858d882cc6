"""The ASGI application: routes, JSON errors, platform-fault middleware, background workers."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from merge_sandbox.clock import Clock
from merge_sandbox.faults import Faults
from merge_sandbox.web import api, common_models, control_merge, control_provider, link_pages
from merge_sandbox.web.context import Sandbox
from merge_sandbox.web.http import HttpError, error_response, json_response

log = logging.getLogger("merge_sandbox")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class PlatformFaults:
    """Merge-side faults on every /api route, and the loopback-only rule for the control API."""

    def __init__(self, app: ASGIApp, faults: Faults, clock: Clock) -> None:
        self.app = app
        self.faults = faults
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            client = scope.get("client")
            if path.startswith("/_sandbox"):
                if client and not is_loopback(client[0]):
                    await json_response({"detail": "The control API answers loopback clients only."}, 403)(
                        scope, receive, send
                    )
                    return
            elif path.startswith("/api/"):
                ip = client[0] if client else ""
                if await self._blocked(ip, scope, receive, send):
                    return
                send = self._counting(ip, send)
                if await self._inject(scope, receive, send):
                    return
        await self.app(scope, receive, send)

    async def _blocked(self, ip: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Merge's global rate limit: an IP with too many failed requests is answered 429 for a while."""
        wait = self.faults.ip_blocked_for(ip, self.clock.now().timestamp())
        if wait is None:
            return False
        body = {"detail": "Too many failed requests from this IP address. Try again later."}
        await json_response(body, 429, {"Retry-After": str(math.ceil(wait))})(scope, receive, send)
        return True

    def _counting(self, ip: str, send: Send) -> Send:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.faults.count_response(ip, int(message["status"]), self.clock.now().timestamp())
            await send(message)

        return counted

    async def _inject(self, scope: Scope, receive: Receive, send: Send) -> bool:
        state = self.faults.state
        if state.latency_ms or state.latency_jitter_ms:
            await asyncio.sleep((state.latency_ms + random.uniform(0, state.latency_jitter_ms)) / 1000)  # noqa: S311
        if state.outage is None:
            self.faults.count_api_request()
            return False
        if state.outage == "timeout":
            await asyncio.sleep(state.outage_hang_seconds)
            status = 504
        else:
            # "refuse" is normally cut off in the protocol before reaching here.
            status = int(state.outage) if state.outage.isdigit() else 503
        body = {"detail": "Merge is experiencing an outage. Please try again later."}
        await json_response(body, status)(scope, receive, send)
        return True


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(exc)


async def starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = "Not found." if exc.status_code == 404 else exc.detail
    return json_response({"detail": detail}, exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return json_response({"detail": "Internal server error."}, 500)


def build_app(box: Sandbox, start_workers: bool = True) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if start_workers:
            box.start()
        try:
            yield
        finally:
            if start_workers:
                box.stop()

    routes = [
        *api.routes,
        *common_models.routes,
        *link_pages.routes,
        *control_provider.routes,
        *control_merge.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HttpError: http_error, HTTPException: starlette_error, Exception: server_error},
    )
    app.state.sandbox = box
    return PlatformFaults(app, box.faults, box.clock)

"""Run the sandbox under uvicorn, bound to loopback only."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from merge_sandbox.faults import Faults
from merge_sandbox.settings import Keys
from merge_sandbox.web.app import build_app
from merge_sandbox.web.context import Sandbox

API_REQUEST = re.compile(rb"^[A-Z]+ /api/")


class SandboxProtocol(H11Protocol):
    """Drops connections to /api when a "refuse" outage is on, as an unreachable Merge would."""

    faults: ClassVar[Faults | None] = None

    def data_received(self, data: bytes) -> None:
        faults = type(self).faults
        if faults is not None and faults.state.outage == "refuse" and API_REQUEST.match(data):
            self.transport.abort()
            return
        super().data_received(data)


def check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to bind {host!r}: the sandbox listens on loopback addresses only")


def serve(host: str, port: int, db_path: str, overrides: dict[str, Any]) -> None:
    check_loopback(host)
    box = Sandbox.open(db_path, Keys.from_env(), overrides)
    SandboxProtocol.faults = box.faults
    config = uvicorn.Config(
        build_app(box),
        host=host,
        port=port,
        http=SandboxProtocol,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=30,
    )
    asyncio.run(uvicorn.Server(config).serve())

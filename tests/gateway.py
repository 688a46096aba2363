"""A payment gateway for tests: a real local HTTP server that answers from a script and records every call."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HANG = -1  # in a script: never answer (past any client timeout)


@dataclass
class Call:
    at: float  # time.monotonic() when the request arrived
    key: str | None
    body: dict[str, Any]
    status: int = 0  # what was answered (0: nothing, it hung)


@dataclass
class ScriptedGateway:
    """Answers call n with `script[n]` (a status or HANG), then `then` for every later call."""

    script: list[int] = field(default_factory=list)
    then: int = 200
    delay_seconds: float = 0.0
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _handle(self, request: web.Request) -> web.Response:
        call = Call(time.monotonic(), request.headers.get("Idempotency-Key"), await request.json())
        index = len(self.calls)
        self.calls.append(call)
        self.arrived.set()
        status = self.script[index] if index < len(self.script) else self.then
        if status == HANG:
            await asyncio.sleep(3600)
        await asyncio.sleep(self.delay_seconds)
        call.status = status
        return web.json_response({"ok": 200 <= status < 300}, status=status)

    def paid(self, key: str) -> int:
        """How many calls with this key were answered 2xx."""
        return sum(1 for call in self.calls if call.key == key and 200 <= call.status < 300)


@asynccontextmanager
async def serving(gateway: ScriptedGateway) -> AsyncIterator[ScriptedGateway]:
    app = web.Application()
    app.router.add_post("/refunds", gateway._handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    gateway.url = f"http://127.0.0.1:{port}/refunds"
    try:
        yield gateway
    finally:
        await runner.cleanup()

"""A liveness file for processes without an HTTP port (projector, scheduler, worker): touched every few seconds
while the process's event loop runs, removed when it stops. A container health check tests its age."""

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

BEAT_SECONDS = 5.0


async def with_heartbeat(path: Path | None, main: Coroutine[Any, Any, None]) -> None:
    """Run `main`, touching `path` every BEAT_SECONDS meanwhile (nothing when `path` is None)."""
    if path is None:
        await main
        return

    async def beat() -> None:
        while True:
            await asyncio.to_thread(path.touch)
            await asyncio.sleep(BEAT_SECONDS)

    beating = asyncio.create_task(beat(), name="heartbeat")
    try:
        await main
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await asyncio.to_thread(path.unlink, missing_ok=True)

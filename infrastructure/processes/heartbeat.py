"""A liveness file for the processes without an HTTP port, touched while their event loop runs."""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0


async def with_heartbeat(path: Path | None, main: Coroutine[Any, Any, None]) -> None:
    """Run `main`, touching `path` every BEAT_SECONDS meanwhile (nothing when `path` is None).

    The first touch happens before `main` starts, so a path that cannot be written stops the process at once
    with the reason, rather than leaving it running and forever unhealthy.
    """
    if path is None:
        await main
        return
    path.touch()  # noqa: ASYNC240 (a touch takes microseconds; a thread could race the unlink below)

    async def beat() -> None:
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            try:
                path.touch()  # noqa: ASYNC240
            except OSError:
                log.warning("heartbeat file %s could not be touched", path, exc_info=True)

    beating = asyncio.create_task(beat(), name="heartbeat")
    try:
        await main
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        path.unlink(missing_ok=True)  # noqa: ASYNC240

"""Stopping a long-running process cleanly on SIGTERM or SIGINT."""

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any


def stop_on_signals(stop: asyncio.Event | None = None) -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (the given one, or a new one)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not possible off the main thread (tests drive these loops from a task) or on Windows: `stop` still works.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop


def run_bounded(main: Coroutine[Any, Any, None], grace_seconds: float) -> None:
    """Like asyncio.run, but a process that is stopping stops: tasks still pending when `main` returns are
    cancelled and given `grace_seconds`, and then the loop closes even if one ignores cancellation (a library's
    shielded cleanup stuck on a dead connection once kept a stopped worker alive)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        cleanup = [*pending, loop.create_task(loop.shutdown_asyncgens())]
        loop.run_until_complete(asyncio.wait(cleanup, timeout=grace_seconds))
        asyncio.set_event_loop(None)
        loop.close()

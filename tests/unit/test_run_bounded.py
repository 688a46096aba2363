"""A stopping process stops: a task that ignores cancellation cannot keep it alive past the grace period."""

import asyncio
import time

from infrastructure.processes.signals import run_bounded


async def main_leaving_a_stubborn_task() -> None:
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # ignores cancellation, as a shielded cleanup stuck on a dead connection would

    asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0)


def test_a_task_that_ignores_cancellation_does_not_keep_the_process() -> None:
    started = time.monotonic()
    run_bounded(main_leaving_a_stubborn_task(), grace_seconds=0.2)
    assert time.monotonic() - started < 5

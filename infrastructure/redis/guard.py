"""One guard for every Redis call of a process: a timeout on each, and a short pause after a failure."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

T = TypeVar("T")

REDIS_ERRORS = (RedisError, OSError, TimeoutError)
PAUSE_SECONDS = 1.0


class RedisUnavailable(Exception):
    """Redis did not answer in time, or failed recently; the caller falls back."""


class RedisGuard:
    def __init__(self, client: aioredis.Redis, timeout_seconds: float, pause_seconds: float = PAUSE_SECONDS) -> None:
        self.client = client
        self._timeout = timeout_seconds
        self._pause = pause_seconds
        self._down_until = 0.0

    @property
    def up(self) -> bool:
        return time.monotonic() >= self._down_until

    async def call(self, operation: Awaitable[T], timeout_seconds: float | None = None) -> T:
        """Await one Redis operation within the timeout; RedisUnavailable if it fails or Redis failed just now."""
        if not self.up:
            if asyncio.iscoroutine(operation):
                operation.close()
            raise RedisUnavailable()
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every call in a task of its own.
            async with asyncio.timeout(timeout_seconds or self._timeout):
                return await operation
        except REDIS_ERRORS as exc:
            self._down_until = time.monotonic() + self._pause
            raise RedisUnavailable() from exc

    async def script(self, script: AsyncScript, keys: list[str], args: list[str | int | float]) -> Any:
        """Run a registered Lua script within the timeout (EVALSHA, loading it once when the server lacks it).

        Called directly rather than through redis-py's Script object, whose every call checks its client against a
        runtime Protocol: several microseconds of a cached read's few hundred."""
        return await self.call(self._evalsha(script, keys, args))

    async def _evalsha(self, script: AsyncScript, keys: list[str], args: list[str | int | float]) -> Any:
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            script.sha = await self.client.script_load(script.script)
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)

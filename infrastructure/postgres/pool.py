"""The PostgreSQL connection pool and the translation of driver errors into application errors."""

import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

import msgspec
import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from application.errors import ConcurrencyError, InvalidInput, ServiceUnavailable

Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]

# "The database did not answer in time", not "the request was wrong": statement and lock timeouts are
# OperationalErrors; a session ended for idling in a transaction is an error of its own.
UNAVAILABLE = (psycopg.OperationalError, PoolTimeout, psycopg.errors.IdleInTransactionSessionTimeout)


def _spoken_to(conn: psycopg.AsyncConnection[TupleRow]) -> bool:
    """Whether the server sent an idle connection anything: when it ends a session (a restart, a failover,
    pg_terminate_backend) it says so and closes the socket; otherwise an idle connection hears only notices."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class CheckedPool(AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]):
    """A pool that does not hand out a connection the server has said it ended, so the first request or job after a
    database restart succeeds: a quiet connection costs one poll() call, one the server spoke to a round trip (and
    is replaced if gone). psycopg_pool's own `check` would cost a round trip each, and sleep 1, 2, 4 s after each
    dead connection: behind a pool a restart ended, a request would time out."""

    async def getconn(self, timeout: float | None = None) -> psycopg.AsyncConnection[TupleRow]:  # noqa: ASYNC109 - the pool's signature
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            conn = await super().getconn(max(0.0, deadline - monotonic()))
            if not _spoken_to(conn):
                return conn
            try:
                await self.check_connection(conn)
            except psycopg.Error:
                await self.putconn(conn)  # ended: the pool discards it and opens another
                continue
            return conn


async def configure(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """What every connection of the service gets, pooled or not: JSONB decoded by msgspec (faster than json)."""
    set_json_loads(msgspec.json.decode, conn)


@asynccontextmanager
async def open_pool(
    url: str,
    *,
    size: int,
    checkout_seconds: float,
    name: str = "taskflow",
    idle_in_transaction_seconds: float | None = None,
) -> AsyncIterator[Pool]:
    """A pool that opens lazily and survives a database restart: a connection the server ended is replaced before it
    is handed out, a broken one is discarded when returned.
    With `idle_in_transaction_seconds`, PostgreSQL ends a session left that long inside a transaction, and frees
    its locks: a process that stops answering mid-transaction (its host gone) holds nothing for longer."""
    # Every statement and lock wait is bounded, so a stuck database costs a request seconds, not forever.
    options = f"-c statement_timeout={round(checkout_seconds * 1000)} -c lock_timeout={round(checkout_seconds * 500)}"
    if idle_in_transaction_seconds is not None:
        options += f" -c idle_in_transaction_session_timeout={round(idle_in_transaction_seconds * 1000)}"
    pool: Pool = CheckedPool(
        url,
        min_size=1,
        max_size=size,
        timeout=checkout_seconds,
        name=name,
        open=False,
        configure=configure,
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, int(checkout_seconds)),
            "options": options,
        },
        reconnect_timeout=60,
    )
    await pool.open(wait=False)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Turn driver failures into ServiceUnavailable and lost races into ConcurrencyError."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "events_stream_version_key":
            raise ConcurrencyError() from exc
        raise
    except psycopg.errors.DataError as exc:
        # Input validation should have refused the value first; this keeps a miss from becoming a 500.
        raise InvalidInput("request", "holds a value the service cannot store") from exc
    except UNAVAILABLE as exc:
        raise ServiceUnavailable("database") from exc

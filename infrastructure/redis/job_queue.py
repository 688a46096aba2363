"""The refund job queue: taskiq-redis's stream broker, with a listen loop that reclaims and redeclares."""

import logging
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from taskiq import AckableMessage, BrokerMessage, TaskiqMessage
from taskiq_redis import RedisStreamBroker

from infrastructure.settings import Settings

log = logging.getLogger(__name__)

PAY_REFUND = "taskflow.pay_refund"
MAX_STREAM_LENGTH = 100_000
BLOCK_MILLISECONDS = 1000


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_namespace}:jobs:refunds"


class RefundStreamBroker(RedisStreamBroker):
    """taskiq-redis's own loop reclaims a dead worker's deliveries only after a round that fetched new messages, and
    its reads fail once Redis loses the stream: this one reclaims every round and declares the group again. The group
    starts at "0", so jobs added before any worker ran are delivered; jobs are acknowledged by the task (MANUAL)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        assert settings.redis_url is not None, "resolve embedded servers before connecting"
        super().__init__(
            settings.redis_url,
            queue_name=queue_name(settings),
            consumer_group_name="workers",
            consumer_id="0",
            xread_block=BLOCK_MILLISECONDS,
            maxlen=MAX_STREAM_LENGTH,
            idle_timeout=round(settings.job_redelivery_seconds * 1000),
            # One message a read and a worker's worth of reclaims a round: a worker holds no more jobs than it
            # runs, so a backlog is shared between workers and nothing waits behind a busy one.
            xread_count=1,
            unacknowledged_batch_size=settings.worker_concurrency,
            socket_timeout=BLOCK_MILLISECONDS / 1000 + 5,
            socket_connect_timeout=2,
            **kwargs,
        )
        self._claim_from = "0-0"

    async def enqueue(self, refund_id: uuid.UUID, attempt: int) -> str:
        """Add a job for one attempt of a refund; returns its stream entry id."""
        message = self.formatter.dumps(
            TaskiqMessage(
                task_id=uuid.uuid4().hex, task_name=PAY_REFUND, labels={}, args=[str(refund_id), attempt], kwargs={}
            )
        )
        return await self._add(message)

    async def _add(self, message: BrokerMessage) -> str:
        async with Redis(connection_pool=self.connection_pool) as conn:
            entry = await conn.xadd(
                self.queue_name, {b"data": message.message}, maxlen=self.maxlen, approximate=self.approximate
            )
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    async def missing(self, entry_ids: list[str]) -> set[str]:
        """Which of these entries the stream no longer holds (Redis lost them, or they were trimmed)."""
        async with Redis(connection_pool=self.connection_pool) as conn, conn.pipeline(transaction=False) as pipe:
            for entry in entry_ids:
                pipe.xrange(self.queue_name, entry, entry)
            found = await pipe.execute()
        return {entry for entry, rows in zip(entry_ids, found, strict=True) if not rows}

    async def counts(self) -> tuple[int, int]:
        """(waiting to be delivered, delivered and not yet acknowledged)."""
        async with Redis(connection_pool=self.connection_pool) as conn:
            try:
                groups = await conn.xinfo_groups(self.queue_name)
            except ResponseError:  # no stream yet
                return 0, 0
        for group in groups:
            if group.get("name") in (self.consumer_group_name, self.consumer_group_name.encode()):
                return int(group.get("lag") or 0), int(group.get("pending") or 0)
        return await self._length(), 0

    async def _length(self) -> int:
        async with Redis(connection_pool=self.connection_pool) as conn:
            return int(await conn.xlen(self.queue_name))

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as conn:
            while True:
                for message in await self._reclaim(conn):
                    yield message
                try:
                    fetched: Any = await conn.xreadgroup(
                        self.consumer_group_name,
                        self.consumer_name,
                        {self.queue_name: ">"},
                        block=self.block,
                        count=self.count,
                    )
                except ResponseError as error:
                    await self._recover(error)
                    continue
                for stream, entries in fetched or []:
                    for entry_id, fields in entries:
                        yield self._message(stream, entry_id, fields)

    async def _reclaim(self, conn: Redis) -> list[AckableMessage]:
        """Deliveries idle past the redelivery timeout (their worker died or hung), taken over by this consumer."""
        try:
            next_from, claimed, *rest = await conn.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                start_id=self._claim_from,
                count=self.unacknowledged_batch_size,
            )
        except ResponseError as error:
            await self._recover(error)
            return []
        self._claim_from = next_from.decode() if isinstance(next_from, bytes) else str(next_from)
        deleted = rest[0] if rest else []
        if deleted:
            # Trimmed from the stream before anyone finished them: the dispatcher notices and adds them again.
            await conn.xack(self.queue_name, self.consumer_group_name, *deleted)
        if claimed:
            log.warning("reclaimed %d job(s) from a worker that went silent", len(claimed))
        return [self._message(self.queue_name, entry_id, fields) for entry_id, fields in claimed if fields]

    async def _recover(self, error: ResponseError) -> None:
        if "NOGROUP" not in str(error):
            raise error
        log.warning("the job stream or its consumer group is gone (Redis lost it); declaring it again")
        self._claim_from = "0-0"
        await self._declare_consumer_group()

    def _message(self, stream: Any, entry_id: Any, fields: dict[bytes, bytes]) -> AckableMessage:
        name = stream.decode() if isinstance(stream, bytes) else str(stream)
        return AckableMessage(data=fields[b"data"], ack=self._ack_generator(id=entry_id, queue_name=name))

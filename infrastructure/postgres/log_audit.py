"""Verify the event log: versions contiguous from 1 in every stream, every hash chain whole, positions unique."""

from collections.abc import AsyncIterator, Sequence
from uuid import UUID

import msgspec

from application.records import RecordedEvent
from application.views import StreamVerification
from infrastructure.postgres.event_hash import event_hash
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.pool import Pool

BATCH = 5_000


class Finding(msgspec.Struct, frozen=True):
    stream_id: UUID | None
    position: int | None
    version: int | None
    problem: str

    def __str__(self) -> str:
        where = f"stream {self.stream_id}" if self.stream_id else "log"
        at = f" version {self.version} (position {self.position})" if self.version is not None else ""
        return f"{where}{at}: {self.problem}"


class Report(msgspec.Struct):
    streams: int = 0
    events: int = 0
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def whole(self) -> bool:
        return not self.findings


async def _records(pool: Pool) -> AsyncIterator[RecordedEvent]:
    async with pool.connection() as conn, conn.transaction():
        cursor = conn.cursor(name="audit")
        await cursor.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY stream_id, version")
        while rows := await cursor.fetchmany(BATCH):
            for row in rows:
                yield record_from_row(row)


def problems(record: RecordedEvent, expected_version: int, previous: bytes) -> list[str]:
    """What is wrong with `record`, the event after version `expected_version - 1` whose hash is `previous`."""
    found = [] if record.version == expected_version else [f"expected version {expected_version}"]
    if event_hash(previous, record) != record.hash:
        found.append("hash does not match its content")
    return found


def verify_stream(stream_id: UUID, records: Sequence[RecordedEvent]) -> StreamVerification:
    """One stream's records (in version order) checked; the first broken version is the first one out of place
    (a missing version: the one expected there) or whose hash does not chain."""
    expected_version, previous = 1, b""
    for record in records:
        if problems(record, expected_version, previous):
            broken = min(record.version, expected_version)
            return StreamVerification(stream_id, len(records), intact=False, first_broken_version=broken)
        expected_version, previous = record.version + 1, record.hash
    return StreamVerification(stream_id, len(records), intact=True, first_broken_version=None)


async def verify_log(pool: Pool) -> Report:
    """Check every stream; the report names each broken stream and event."""
    report = Report()
    stream: UUID | None = None
    expected_version, previous = 1, b""
    async for record in _records(pool):
        if record.stream_id != stream:
            stream, expected_version, previous = record.stream_id, 1, b""
            report.streams += 1
        report.events += 1
        for problem in problems(record, expected_version, previous):
            report.findings.append(Finding(record.stream_id, record.position, record.version, problem))
        expected_version, previous = record.version + 1, record.hash
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) - count(DISTINCT position) FROM events")
        row = await cursor.fetchone()
    if row and row[0]:
        report.findings.append(Finding(None, None, None, f"{row[0]} positions are not unique"))
    return report

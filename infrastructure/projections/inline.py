"""Inline projections: run inside the append transaction, so a client reads its own writes."""

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from domain import refunds, tasks, users
from infrastructure.projections import refunds_view, task_counters, tasks_view, users_view


async def project_inline(conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
    """Apply `records` to every inline read table, a bounded number of statements whatever their count."""
    task_records = [r for r in records if r.stream_type == tasks.STREAM_TYPE]
    user_records = [r for r in records if r.stream_type == users.STREAM_TYPE]
    refund_records = [r for r in records if r.stream_type == refunds.STREAM_TYPE]
    if task_records:
        await tasks_view.apply(conn, task_records)
        await task_counters.apply(conn, list({r.stream_id for r in task_records}))
    if user_records:
        await users_view.apply(conn, user_records)
    if refund_records:
        await refunds_view.apply(conn, refund_records)

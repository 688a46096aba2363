"""The refund read model over refunds_view, dead letters included."""

from datetime import datetime
from typing import Any
from uuid import UUID

from application.views import RefundView
from domain.refunds import RefundStatus
from infrastructure.postgres.pool import Pool, translated_errors

_REFUND_COLUMNS = "id, task_id, amount, currency, status, attempts, last_error, requested_at, completed_at"


def _refund(row: tuple[Any, ...]) -> RefundView:
    id_, task_id, amount, currency, status, attempts, last_error, requested_at, completed_at = row
    return RefundView(
        id=id_,
        task_id=task_id,
        amount=amount,
        currency=currency,
        status=RefundStatus(status),
        attempts=attempts,
        last_error=last_error,
        requested_at=requested_at,
        completed_at=completed_at,
    )


class PostgresRefundReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, refund_id: UUID) -> RefundView | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(f"SELECT {_REFUND_COLUMNS} FROM refunds_view WHERE id = %s", (refund_id,))
            row = await cursor.fetchone()
        return _refund(row) if row else None

    async def get_with_owner(self, refund_id: UUID) -> tuple[RefundView, UUID] | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_REFUND_COLUMNS}, owner_id FROM refunds_view WHERE id = %s", (refund_id,)
            )
            row = await cursor.fetchone()
        return (_refund(row[:-1]), row[-1]) if row else None

    async def dead_letters(self, limit: int, after: tuple[datetime, UUID] | None) -> list[RefundView]:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_REFUND_COLUMNS} FROM refunds_view WHERE status = 'FAILED' AND NOT dismissed"
                " AND (%s::timestamptz IS NULL OR (completed_at, id) > (%s, %s))"
                " ORDER BY completed_at, id LIMIT %s",
                (*(after or (None, None))[:1], *(after or (None, None)), limit),
            )
            rows = await cursor.fetchall()
        return [_refund(row) for row in rows]

"""Commit-order reads sort by the xid8 column itself, never by its text (which would put 100000 before 99999),
and go through the (transaction_id, position) index."""

from typing import Any

import psycopg
import pytest

from infrastructure.followers import BATCH_QUERY
from infrastructure.log_reader import PAGE_QUERY
from infrastructure.rebuild import MISSED_QUERY


def plan(url: str, query: str, params: Any) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute(f"EXPLAIN (VERBOSE) {query}", params).fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (BATCH_QUERY, ("0", 0, 10)),
        (PAGE_QUERY, {"xid": "0", "position": 0, "types": None, "stream": None, "limit": 10}),
        (
            MISSED_QUERY.format(bound=""),
            {"type": "task", "snapshot": "1:1:", "xid": "0", "position": 0, "limit": 10},
        ),
    ],
)
def test_the_order_is_the_transaction_ids_own(database_url: str, query: str, params: Any) -> None:
    explained = plan(database_url, query, params)
    sort_keys = [line for line in explained.splitlines() if "Sort Key:" in line]
    assert not any("::text" in line for line in sort_keys), explained
    assert "events_transaction_position_idx" in explained, explained


def test_the_events_a_snapshot_missed_are_read_from_its_xmin_on(database_url: str) -> None:
    """A rebuild's catch-up (also run inside the swap, while appends wait) reads an index range starting at the
    snapshot's xmin, not the whole log from its first transaction."""
    query = MISSED_QUERY.format(bound="")
    explained = plan(
        database_url, query, {"type": "task", "snapshot": "1000:1000:", "xid": "0", "position": 0, "limit": 10}
    )
    conditions = [line for line in explained.splitlines() if "Index Cond:" in line]
    assert any("pg_snapshot_xmin" in line or "'1000'::xid8" in line for line in conditions), explained

"""Commit-order reads sort by the xid8 column itself, never by its text (which would put 100000 before 99999),
and go through an index in commit order."""

from typing import Any

import psycopg
import pytest

from application.views import LogQuery
from infrastructure.postgres.followers import BATCH_QUERY
from infrastructure.postgres.log_reader import page_query
from infrastructure.postgres.rebuild.catch_up import MISSED_QUERY, first_missed

COMMIT_ORDER_INDEXES = ("events_transaction_position_idx", "events_stream_type_commit_idx")


def plan(url: str, query: str, params: Any) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute(f"EXPLAIN (VERBOSE) {query}", params).fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (BATCH_QUERY, ("0", 0, 10)),
        page_query(LogQuery(limit=10, after=("0", 0))),
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
    # An index in commit order: the whole log's, or one stream type's (migration 0014), which a read of one type uses.
    assert any(index in explained for index in COMMIT_ORDER_INDEXES), explained


def index_pages_read(conn: psycopg.Connection[Any], query: str, params: Any) -> int:
    row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", params).fetchone()
    assert row is not None
    top = row[0][0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


def test_a_catch_up_reads_from_the_snapshots_xmin_not_the_whole_log(database_url: str) -> None:
    """The rebuild's catch-up (the swap runs the last one while appends wait on its lock) starts its index range at
    the oldest of this database's transactions the bulk snapshot saw running: behind 20,000 events committed before
    that snapshot, it reads a few pages, where starting at the beginning of the log reads them all (and so does
    starting at the snapshot's xmin, while another database holds a transaction open)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at,"
            " hash) SELECT gen_random_uuid(), 'task', 1, 'TaskCompleted', 1, '{}', '{}', now(), '\\x00'"
            " FROM generate_series(1, 20000)"
        )
        conn.execute("VACUUM ANALYZE events")
        row = conn.execute("SELECT pg_current_snapshot()::text, events_horizon()::text").fetchone()
        assert row is not None
        snapshot, horizon = str(row[0]), str(row[1])
        query = MISSED_QUERY.format(bound="")
        xid, position = first_missed(horizon)
        params = {"type": "task", "snapshot": snapshot, "limit": 5000}
        from_xmin = index_pages_read(conn, query, params | {"xid": xid, "position": position})
        from_start = index_pages_read(conn, query, params | {"xid": "0", "position": 0})
    assert from_xmin < 10 < from_start, (from_xmin, from_start)

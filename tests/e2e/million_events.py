"""A log of a million realistic events, filled in seconds: one INSERT ... SELECT per 100,000 events (each its own
transaction, as many commits would be), with the events table's secondary indexes dropped for the load and made
again as migrated.

Every 100 positions hold one user registering, one refund's four events (requested, two transient failures by the
worker, paid) and nineteen tasks of five events each (created, raised to HIGH, renamed, completed, noted); each
event with its actor and its request's correlation, causation and request ids, recorded 50 ms apart. The hashes are
stand-ins: these streams do not verify (the tests verify streams they write themselves). Of the read models only
users_view is filled (the console names the users who acted)."""

from typing import Any

import psycopg
from psycopg import sql

EVENTS = 1_000_000
CHUNK = 100_000

FILL = """
WITH slot AS (
    SELECT i, i / 100 AS block, mod(i, 100) AS k, md5(i::text) AS request,
           '00000000-0000-4000-b000-' || lpad(to_hex(i / 100), 12, '0') AS owner,
           '00000000-0000-4000-c000-' || lpad(to_hex(i / 100), 12, '0') AS refund,
           (i / 100) * 19 + (mod(i, 100) - 5) / 5 AS task, mod(mod(i, 100) - 5, 5) AS step
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
), event AS (
    SELECT i, owner, request,
        CASE WHEN k = 0 THEN owner WHEN k <= 4 THEN refund
             ELSE '00000000-0000-4000-a000-' || lpad(to_hex(task), 12, '0') END AS stream_id,
        CASE WHEN k = 0 THEN 'user' WHEN k <= 4 THEN 'refund' ELSE 'task' END AS stream_type,
        CASE WHEN k = 0 THEN 1 WHEN k <= 4 THEN k ELSE step + 1 END AS version,
        CASE WHEN k = 0 THEN 'UserRegistered' WHEN k = 1 THEN 'RefundRequested' WHEN k <= 3 THEN 'RefundAttemptFailed'
             WHEN k = 4 THEN 'RefundSucceeded'
             ELSE (ARRAY['TaskCreated', 'TaskUpdated', 'TaskUpdated', 'TaskCompleted', 'TaskUpdated'])[step + 1] END
            AS type,
        CASE WHEN k >= 5 AND step = 0 THEN 2 ELSE 1 END AS schema_version,
        CASE WHEN k = 0 THEN '{"email": "user' || block || '@example.com", "name": "User ' || block
                             || '", "role": "user"}'
             WHEN k = 1 THEN '{"taskId": "00000000-0000-4000-a000-' || lpad(to_hex(block * 19), 12, '0')
                             || '", "ownerId": "' || owner || '", "amount": 1500, "currency": "EUR"}'
             WHEN k <= 3 THEN '{"attempt": ' || k - 1 || ', "error": "gateway answered 503", "transient": true,'
                              || ' "retryInSeconds": ' || 2 * (k - 1) || '}'
             WHEN k = 4 THEN '{"attempt": 3}'
             WHEN step = 0 THEN '{"ownerId": "' || owner || '", "title": "Task ' || task || '", "description": null,'
                                || ' "status": "PENDING", "priority": "MEDIUM", "dueDate": null, "fee": null}'
             WHEN step = 1 THEN '{"priority": "HIGH"}'
             WHEN step = 2 THEN '{"title": "Task ' || task || ', revised"}'
             WHEN step = 3 THEN '{}'
             ELSE '{"description": "Notes after completion"}' END AS data,
        CASE WHEN k BETWEEN 2 AND 4 THEN 'system:refund-worker' ELSE owner END AS actor,
        CASE WHEN k BETWEEN 2 AND 4 THEN refund ELSE request END AS cause
    FROM slot
)
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT stream_id::uuid, stream_type, version, type, schema_version, data::jsonb,
       jsonb_build_object('actorId', actor, 'correlationId', cause, 'causationId', cause,
                          'requestId', CASE WHEN actor = 'system:refund-worker' THEN NULL ELSE request END),
       now() - (%(events)s - i) * interval '50 milliseconds', sha256(i::text::bytea)
FROM event
"""

# The users the log registers, as their inline projection would have written them (the console names actors).
USERS = """
INSERT INTO users_view (id, email, name, role, version, created_at, updated_at)
SELECT ('00000000-0000-4000-b000-' || lpad(to_hex(block), 12, '0'))::uuid, 'user' || block || '@example.com',
       'User ' || block, 'user', 1, at, at
FROM generate_series(0, %(users)s - 1) AS block,
     LATERAL (SELECT now() - (%(events)s - block * 100) * interval '50 milliseconds' AS at) AS registered
"""

# The indexes a load maintains row by row, where building each at the end is one sort (the constraints stay).
SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename = 'events'
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass)
"""


def fill_log(url: str, events: int = EVENTS) -> None:
    """Append `events` events to the log of the database at `url` (empty or not) and analyse the table."""
    with psycopg.connect(url, autocommit=True) as conn:
        indexes: list[tuple[Any, ...]] = conn.execute(SECONDARY_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        for first in range(0, events, CHUNK):
            conn.execute(FILL, {"first": first, "last": min(events, first + CHUNK) - 1, "events": events})
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute(USERS, {"users": events // 100, "events": events})
        conn.execute("ANALYZE events")

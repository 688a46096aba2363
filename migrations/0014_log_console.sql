-- The auditors' console pages the log newest first or from a position, by event type, stream type or correlation:
-- each such page is an index range in commit order, however long the log.
-- depends: 0011_log_readers
-- transactional: false

-- Built CONCURRENTLY (so outside a transaction): appends go on while a long log is indexed.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_type_commit_idx ON events (type, transaction_id, position);
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_stream_type_commit_idx ON events (stream_type, transaction_id, position);
-- The correlation id is an envelope fact the event store writes into metadata (never the event's data); an index
-- on the expression serves the lookup without a second copy of it in a column that the write path must fill.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_correlation_commit_idx
    ON events ((metadata ->> 'correlationId'), transaction_id, position);

DROP INDEX CONCURRENTLY IF EXISTS events_correlation_commit_idx;
DROP INDEX CONCURRENTLY IF EXISTS events_stream_type_commit_idx;
DROP INDEX CONCURRENTLY IF EXISTS events_type_commit_idx;

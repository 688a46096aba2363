-- Readers of the log in commit order: how far they may read, and how appends wake them.
-- depends: 0010_task_counter_stripes

-- Log readers read only events of transactions below every transaction still running *in this database*, so none
-- can commit behind what they have read. pg_snapshot_xmin would also wait for every other database's transactions
-- (transaction ids are the server's), so another deployment's long transaction would stall this one's followers.
-- A running transaction is left out only when a session of another database holds it (an id is never reused, and
-- a session never changes database); one that just ended, or that no session shows (a subtransaction, a prepared
-- one, a session this role may not see), still bounds the read: never too far, at worst a moment too short.
CREATE FUNCTION events_horizon() RETURNS xid8 LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
    SELECT coalesce(
        (SELECT min(running) FROM pg_snapshot_xip(snapshot) AS running
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_stat_get_activity(NULL) AS session
             WHERE session.backend_xid = running::xid
               AND session.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
        pg_snapshot_xmax(snapshot))
    -- Sessions as they are now, after this statement's snapshot (not as an earlier statement of the transaction saw
    -- them): a transaction that began since then has an id beyond the snapshot, never one it counts as running.
    FROM pg_current_snapshot() AS snapshot, pg_stat_clear_snapshot() AS fresh
$$;

-- Appends wake the followers from the append statement itself, at most once every 50 ms a process, instead of a
-- NOTIFY from a trigger in every appending transaction: PostgreSQL serialises the commits of all transactions that
-- notify (a lock held through each one's commit), which capped concurrent appends far below the server's rate.
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();

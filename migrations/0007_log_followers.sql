-- Log followers: a checkpoint per follower, a wake-up NOTIFY per append, and the activity projection.
-- depends: 0006_idempotency_keys

CREATE TABLE follower_checkpoints (
    name            text PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT '0',
    position        bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One notification per appending statement, delivered at commit (and folded within a transaction).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taskflow_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

CREATE TABLE task_activity (
    owner_id   uuid NOT NULL,
    day        date NOT NULL,
    created    bigint NOT NULL DEFAULT 0,
    completed  bigint NOT NULL DEFAULT 0,
    deleted    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);

CREATE INDEX task_activity_day_idx ON task_activity (day);

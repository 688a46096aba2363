-- Refunds: the inline read model (the dead-letter queue is its FAILED rows) and the dispatcher's job schedule.
-- depends: 0007_log_followers

CREATE TABLE refunds_view (
    id            uuid PRIMARY KEY,
    task_id       uuid NOT NULL,
    owner_id      uuid NOT NULL,
    amount        bigint NOT NULL,
    currency      text NOT NULL,
    status        text NOT NULL,
    attempts      integer NOT NULL,
    last_error    text,
    requested_at  timestamptz NOT NULL,
    completed_at  timestamptz,
    dismissed     boolean NOT NULL DEFAULT false,
    version       integer NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT refunds_view_task_key UNIQUE (task_id)
);

CREATE INDEX refunds_view_dead_letters_idx ON refunds_view (completed_at, id)
    WHERE status = 'FAILED' AND NOT dismissed;

-- One row per attempt the dispatcher has seen called for: when it is due, when (and as which stream entry) it
-- was last put on the queue, and when its outcome reached the log. Written only by the refund dispatcher.
CREATE TABLE refund_jobs (
    refund_id    uuid NOT NULL,
    attempt      integer NOT NULL,
    due_at       timestamptz NOT NULL,
    enqueued_at  timestamptz,
    message_id   text,
    enqueues     integer NOT NULL DEFAULT 0,
    done_at      timestamptz,
    PRIMARY KEY (refund_id, attempt)
);

CREATE INDEX refund_jobs_due_idx ON refund_jobs (due_at) WHERE done_at IS NULL;

-- Per-owner task counters for GET /tasks/stats, kept by an inline projection; overdue is counted by index.
-- depends: 0004_task_queries

CREATE TABLE task_counters (
    owner_id       uuid PRIMARY KEY,
    total          bigint NOT NULL DEFAULT 0,
    pending        bigint NOT NULL DEFAULT 0,
    in_progress    bigint NOT NULL DEFAULT 0,
    completed      bigint NOT NULL DEFAULT 0,
    high_priority  bigint NOT NULL DEFAULT 0
);

INSERT INTO task_counters (owner_id, total, pending, in_progress, completed, high_priority)
SELECT owner_id, count(*), count(*) FILTER (WHERE status = 'PENDING'), count(*) FILTER (WHERE status = 'IN_PROGRESS'),
       count(*) FILTER (WHERE status = 'COMPLETED'), count(*) FILTER (WHERE priority = 'HIGH')
FROM tasks_view WHERE valid_to IS NULL GROUP BY owner_id;

-- Overdue across every owner (admins' stats).
CREATE INDEX tasks_view_open_due_all_idx ON tasks_view (due_date)
    WHERE valid_to IS NULL AND status <> 'COMPLETED' AND due_date IS NOT NULL;

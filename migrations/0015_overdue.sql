-- Overdue is an event (TaskBecameOverdue, appended by the scheduler's overdue check), no longer the clock compared
-- with due dates at query time: tasks_view and task_counters carry it, as the registry's task_row and task_counts
-- say, and task_deadlines holds the tasks the check watches (live, open, with a due date they are not yet overdue
-- for), found by due date. The log has no TaskBecameOverdue yet, so no task is overdue until the first check.
-- The previous release keeps none of these: stop its API, worker and scheduler processes before this migration
-- (README, "Upgrading"), or tasks it writes meanwhile are missed by the check until task_deadlines is rebuilt.
-- depends: 0012_audit_tree

ALTER TABLE tasks_view ADD COLUMN overdue boolean NOT NULL DEFAULT false;
ALTER TABLE task_counters ADD COLUMN overdue bigint NOT NULL DEFAULT 0;

-- Stats count overdue from task_counters, and GET /tasks?overdue=true filters on the column: no query reads these.
DROP INDEX tasks_view_open_due_idx;
DROP INDEX tasks_view_open_due_all_idx;

CREATE TABLE task_deadlines (
    id        uuid PRIMARY KEY,
    due_date  timestamptz NOT NULL
);

INSERT INTO task_deadlines (id, due_date)
SELECT id, due_date FROM tasks_view WHERE valid_to IS NULL AND status <> 'COMPLETED' AND due_date IS NOT NULL;

-- The check takes the earliest due rows first, in batches.
CREATE INDEX task_deadlines_due_idx ON task_deadlines (due_date);

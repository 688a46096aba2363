-- Development only: TaskBecameOverdue events stay in the log, and the previous release cannot read them.
DROP TABLE task_deadlines;
CREATE INDEX tasks_view_open_due_idx ON tasks_view (owner_id, due_date)
    WHERE status <> 'COMPLETED' AND due_date IS NOT NULL;
CREATE INDEX tasks_view_open_due_all_idx ON tasks_view (due_date)
    WHERE status <> 'COMPLETED' AND due_date IS NOT NULL;
ALTER TABLE task_counters DROP COLUMN overdue;
ALTER TABLE tasks_view DROP COLUMN overdue;

ALTER TABLE tasks_view RESET (fillfactor);
DROP INDEX tasks_view_open_due_all_idx;
DROP INDEX tasks_view_open_due_idx;
CREATE INDEX tasks_view_open_due_idx ON tasks_view (owner_id, due_date)
    WHERE valid_to IS NULL AND status <> 'COMPLETED' AND due_date IS NOT NULL;
CREATE INDEX tasks_view_open_due_all_idx ON tasks_view (due_date)
    WHERE valid_to IS NULL AND status <> 'COMPLETED' AND due_date IS NOT NULL;
CREATE INDEX tasks_view_superseded_idx ON tasks_view (superseded_at) WHERE valid_to IS NOT NULL;
CREATE UNIQUE INDEX tasks_view_current_idx ON tasks_view (id) WHERE valid_to IS NULL;

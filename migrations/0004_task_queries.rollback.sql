DELETE FROM tasks_view WHERE valid_to IS NOT NULL;
DROP INDEX tasks_view_superseded_idx;
DROP INDEX tasks_view_open_due_idx;
DROP INDEX tasks_view_search_idx;
DROP INDEX tasks_view_updated_idx;
DROP INDEX tasks_view_priority_idx;
DROP INDEX tasks_view_due_idx;
DROP INDEX tasks_view_created_idx;
DROP INDEX tasks_view_owner_updated_idx;
DROP INDEX tasks_view_owner_priority_idx;
DROP INDEX tasks_view_owner_due_idx;
DROP INDEX tasks_view_owner_created_idx;
DROP INDEX tasks_view_current_idx;
ALTER TABLE tasks_view DROP CONSTRAINT tasks_view_pkey;
ALTER TABLE tasks_view DROP COLUMN search, DROP COLUMN due_sort, DROP COLUMN priority_rank,
    DROP COLUMN superseded_at, DROP COLUMN valid_to, DROP COLUMN valid_from;
ALTER TABLE tasks_view ADD CONSTRAINT tasks_view_pkey PRIMARY KEY (id);
CREATE INDEX tasks_view_owner_created_idx ON tasks_view (owner_id, created_at DESC, id DESC);
CREATE INDEX tasks_view_created_idx ON tasks_view (created_at DESC, id DESC);

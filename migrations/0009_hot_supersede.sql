-- Superseding a task's row version becomes a HOT update: no index mentions the columns it sets (valid_to,
-- superseded_at), and pages keep room for the new tuple. A change then writes the new version's index entries
-- only, not a second full set for the old one.
-- depends: 0008_refunds

-- Lookups of the current version go through the primary key (id, version): a task has few versions at a time.
DROP INDEX tasks_view_current_idx;
-- The purge finds old versions by scanning (every few minutes, in the background).
DROP INDEX tasks_view_superseded_idx;

-- Overdue counts: open tasks by due date; superseded versions are filtered on the heap.
DROP INDEX tasks_view_open_due_idx;
DROP INDEX tasks_view_open_due_all_idx;
CREATE INDEX tasks_view_open_due_idx ON tasks_view (owner_id, due_date)
    WHERE status <> 'COMPLETED' AND due_date IS NOT NULL;
CREATE INDEX tasks_view_open_due_all_idx ON tasks_view (due_date)
    WHERE status <> 'COMPLETED' AND due_date IS NOT NULL;

ALTER TABLE tasks_view SET (fillfactor = 80);

-- Task queries at scale: sort columns, full-text search, and row versions for snapshot-consistent pages.
--
-- tasks_view keeps a task's superseded row versions for a while (valid_from / valid_to are the writing
-- transactions' ids), so a client walking pages sees every task exactly once, as of its first page, however
-- the tasks change meanwhile. The current version of a task is the one with valid_to IS NULL.
-- depends: 0003_sessions

ALTER TABLE tasks_view DROP CONSTRAINT tasks_view_pkey;
ALTER TABLE tasks_view
    ADD COLUMN valid_from xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN valid_to xid8,
    ADD COLUMN superseded_at timestamptz,
    ADD COLUMN priority_rank smallint NOT NULL
        GENERATED ALWAYS AS (CASE priority WHEN 'LOW' THEN 1 WHEN 'MEDIUM' THEN 2 ELSE 3 END) STORED,
    ADD COLUMN due_sort timestamptz NOT NULL GENERATED ALWAYS AS (coalesce(due_date, 'infinity')) STORED,
    ADD COLUMN search tsvector NOT NULL
        GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || coalesce(description, ''))) STORED;
ALTER TABLE tasks_view ADD CONSTRAINT tasks_view_pkey PRIMARY KEY (id, version);

-- One current version per task; lookups by id go here.
CREATE UNIQUE INDEX tasks_view_current_idx ON tasks_view (id) WHERE valid_to IS NULL;

-- Keyset pages for every sort key, per owner (users) and across owners (admins); scanned either way.
DROP INDEX tasks_view_owner_created_idx;
DROP INDEX tasks_view_created_idx;
CREATE INDEX tasks_view_owner_created_idx ON tasks_view (owner_id, created_at, id);
CREATE INDEX tasks_view_owner_due_idx ON tasks_view (owner_id, due_sort, id);
CREATE INDEX tasks_view_owner_priority_idx ON tasks_view (owner_id, priority_rank, id);
CREATE INDEX tasks_view_owner_updated_idx ON tasks_view (owner_id, updated_at, id);
CREATE INDEX tasks_view_created_idx ON tasks_view (created_at, id);
CREATE INDEX tasks_view_due_idx ON tasks_view (due_sort, id);
CREATE INDEX tasks_view_priority_idx ON tasks_view (priority_rank, id);
CREATE INDEX tasks_view_updated_idx ON tasks_view (updated_at, id);

CREATE INDEX tasks_view_search_idx ON tasks_view USING gin (search);

-- Overdue counts: open tasks by due date.
CREATE INDEX tasks_view_open_due_idx ON tasks_view (owner_id, due_date)
    WHERE valid_to IS NULL AND status <> 'COMPLETED' AND due_date IS NOT NULL;

-- Purging superseded versions once no walk can need them.
CREATE INDEX tasks_view_superseded_idx ON tasks_view (superseded_at) WHERE valid_to IS NOT NULL;

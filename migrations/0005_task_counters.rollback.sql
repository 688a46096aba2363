DROP INDEX tasks_view_open_due_all_idx;
DROP TABLE task_counters;

LOCK TABLE task_counters IN ACCESS EXCLUSIVE MODE;
DELETE FROM task_counters;
ALTER TABLE task_counters DROP CONSTRAINT task_counters_pkey;
ALTER TABLE task_counters DROP COLUMN stripe;
ALTER TABLE task_counters ADD PRIMARY KEY (owner_id);
DROP FUNCTION task_counter_stripe(uuid);

INSERT INTO task_counters (owner_id, total, pending, in_progress, completed, high_priority)
SELECT owner_id, count(*), count(*) FILTER (WHERE status = 'PENDING'), count(*) FILTER (WHERE status = 'IN_PROGRESS'),
       count(*) FILTER (WHERE status = 'COMPLETED'), count(*) FILTER (WHERE priority = 'HIGH')
FROM tasks_view WHERE valid_to IS NULL GROUP BY owner_id;

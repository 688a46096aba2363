DROP TABLE task_activity;
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();
DROP TABLE follower_checkpoints;

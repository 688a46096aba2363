DROP TABLE events;
DROP FUNCTION events_refuse_change();

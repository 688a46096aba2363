DROP TABLE tasks_view;
DROP TABLE credentials;
DROP TABLE users_view;

-- Inline read models (kept in the append transaction) and login credentials (kept out of the log).
-- depends: 0001_event_store

CREATE TABLE users_view (
    id          uuid PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    role        text NOT NULL,
    version     integer NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT users_view_email_key UNIQUE (email)
);

CREATE TABLE credentials (
    user_id        uuid PRIMARY KEY,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credentials_email_key UNIQUE (email)
);

CREATE TABLE tasks_view (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL,
    title         text NOT NULL,
    description   text,
    status        text NOT NULL,
    priority      text NOT NULL,
    due_date      timestamptz,
    fee_amount    bigint,
    fee_currency  text,
    version       integer NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Keyset pages, newest first: per owner (users) and across owners (admins).
CREATE INDEX tasks_view_owner_created_idx ON tasks_view (owner_id, created_at DESC, id DESC);
CREATE INDEX tasks_view_created_idx ON tasks_view (created_at DESC, id DESC);

-- The log's Merkle tree (RFC 6962), kept by the audit_tree log follower in commit order: the hash of every
-- complete subtree by (level, index), level 0 being the leaves (SHA-256(0x00 || events.hash)), and each event's
-- leaf index by its position (with its stream and version, so `taskflow audit verify --digest` can name an event
-- that is gone from the log). A root or a proof reads O(log n) rows by primary key. The tree size is the number of
-- leaves (max index + 1 at level 0), written in the same transaction as its nodes, so the two always agree.
-- depends: 0011_log_readers

CREATE TABLE audit_tree_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
    index  bigint NOT NULL CHECK (index >= 0),
    hash   bytea NOT NULL,
    PRIMARY KEY (level, index)
);

CREATE TABLE audit_tree_leaves (
    position    bigint PRIMARY KEY,
    leaf_index  bigint NOT NULL,
    stream_id   uuid NOT NULL,
    version     integer NOT NULL
);

-- The audit log: entries as committed (queue order `seq`), their place in the Merkle tree once
-- sequenced (`leaf_index`), the tree's stored perfect subtrees, its head and its checkpoints.
CREATE TABLE audit_entries (
    seq           BIGSERIAL PRIMARY KEY,
    leaf_index    BIGINT,
    time_ms       BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    entry         BYTEA NOT NULL
);
CREATE UNIQUE INDEX audit_entries_leaf ON audit_entries (leaf_index);
CREATE INDEX audit_entries_pending ON audit_entries (seq) WHERE leaf_index IS NULL;
CREATE INDEX audit_entries_actor ON audit_entries (actor, seq);
CREATE INDEX audit_entries_action ON audit_entries (action, seq);
CREATE INDEX audit_entries_resource ON audit_entries (resource_kind, resource_id, seq);
CREATE INDEX audit_entries_time ON audit_entries (time_ms);

-- Perfect subtrees of the Merkle tree: (level, index) covers leaves
-- [index << level, (index + 1) << level). Level 0 holds the leaf hashes.
CREATE TABLE audit_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The tree's head: its size and root, and the verifier key of the log's signing key.
CREATE TABLE audit_tree (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    size     BIGINT NOT NULL,
    root     BYTEA NOT NULL,
    log_key  TEXT
);
INSERT INTO audit_tree (id, size, root) VALUES
    (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), with an optional RFC 3161
-- timestamp token of each.
CREATE TABLE audit_checkpoints (
    tree_size   BIGINT PRIMARY KEY,
    root        BYTEA NOT NULL,
    note        TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    timestamp   BYTEA
);

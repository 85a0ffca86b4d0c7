-- The audit log sequenced as it commits: the single writer gives each entry its leaf index in
-- the transaction of the entry itself, so the index is the row's key (no queue order, no
-- pending index, no later UPDATE). Tree nodes below level 4 are no longer stored for new
-- entries: they are computed from at most 16 leaves (level-0 nodes stay stored for entries
-- sequenced before this change and for pruned ones).
ALTER TABLE audit_entries RENAME TO audit_entries_v1;

CREATE TABLE audit_entries (
    leaf_index    INTEGER PRIMARY KEY,
    time_ms       INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    entry         BLOB NOT NULL
);
INSERT INTO audit_entries
    SELECT leaf_index, time_ms, actor, action, resource_kind, resource_id, outcome, entry
    FROM audit_entries_v1 WHERE leaf_index IS NOT NULL ORDER BY leaf_index;

-- Entries that had committed but were not sequenced yet when this ran: the store sequences
-- them (in commit order) into the log, then deletes them here.
CREATE TABLE audit_unsequenced (
    seq           INTEGER PRIMARY KEY,
    time_ms       INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    entry         BLOB NOT NULL
);
INSERT INTO audit_unsequenced
    SELECT seq, time_ms, actor, action, resource_kind, resource_id, outcome, entry
    FROM audit_entries_v1 WHERE leaf_index IS NULL;

DROP TABLE audit_entries_v1;
CREATE INDEX audit_entries_actor ON audit_entries (actor, leaf_index);
CREATE INDEX audit_entries_action ON audit_entries (action, leaf_index);
CREATE INDEX audit_entries_resource ON audit_entries (resource_kind, resource_id, leaf_index);
CREATE INDEX audit_entries_time ON audit_entries (time_ms);

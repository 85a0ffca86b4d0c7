-- The audit log sequenced as it commits: the single writer gives each entry its leaf index in
-- the transaction of the entry itself, so the index is the row's key (no queue order, no
-- pending index, no later UPDATE). Tree nodes below level 4 are no longer stored for new
-- entries: they are computed from at most 16 leaves (level-0 nodes stay stored for entries
-- sequenced before this change and for pruned ones). Searches by actor, action and resource
-- go through postings written once per transaction instead of an index row per entry.
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
CREATE INDEX audit_entries_time ON audit_entries (time_ms);

-- Where entries of a search key are: for each key (field 1 actor, 2 action, 3 resource kind,
-- 4 resource ID) and write transaction, the first and last leaf of that transaction's entries
-- with it (the range may hold other entries too: searches filter each range exactly).
CREATE TABLE audit_postings (
    field      INTEGER NOT NULL,
    value      TEXT NOT NULL,
    first_leaf INTEGER NOT NULL,
    last_leaf  INTEGER NOT NULL,
    PRIMARY KEY (field, value, first_leaf)
) WITHOUT ROWID;
INSERT INTO audit_postings SELECT 1, actor, leaf_index, leaf_index FROM audit_entries;
INSERT INTO audit_postings SELECT 2, action, leaf_index, leaf_index FROM audit_entries;
INSERT INTO audit_postings SELECT 3, resource_kind, leaf_index, leaf_index FROM audit_entries;
INSERT INTO audit_postings SELECT 4, resource_id, leaf_index, leaf_index FROM audit_entries
    WHERE resource_id <> '';

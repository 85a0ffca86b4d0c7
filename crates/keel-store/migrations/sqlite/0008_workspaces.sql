-- Keel schema, version 8 (SQLite): workspaces. The catalogue of workspaces (`default` always
-- exists), and the workspace each experiment belongs to: experiment names are unique per
-- workspace, IDs stay unique across all of them. Runs, traces, logged models and artifacts
-- belong to the workspace of their experiment. The foreign key makes a workspace impossible to
-- delete while an experiment is in it, whatever runs concurrently.
-- SQLite cannot drop the old UNIQUE (name) in place, so the table is rebuilt (the migration
-- runs with foreign keys off and checks them before it commits; children keep their rows).

CREATE TABLE workspaces (
    name                  TEXT PRIMARY KEY,
    description           TEXT,
    default_artifact_root TEXT
) WITHOUT ROWID;
INSERT INTO workspaces (name, description)
    VALUES ('default', 'Default workspace for legacy resources');

CREATE TABLE experiments_rebuilt (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    deleted_time      INTEGER,
    workspace         TEXT    NOT NULL DEFAULT 'default' REFERENCES workspaces (name),
    UNIQUE (workspace, name)
);
INSERT INTO experiments_rebuilt (experiment_id, name, artifact_location, lifecycle_stage,
                                 creation_time, last_update_time, deleted_time)
    SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time,
           last_update_time, deleted_time
    FROM experiments;
DROP TABLE experiments;
ALTER TABLE experiments_rebuilt RENAME TO experiments;
CREATE INDEX experiments_by_creation ON experiments (creation_time DESC, experiment_id);
CREATE INDEX experiments_by_workspace ON experiments (workspace, creation_time DESC);

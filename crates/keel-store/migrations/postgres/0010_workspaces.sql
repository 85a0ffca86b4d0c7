-- Keel schema, version 10 (PostgreSQL): workspaces. Mirrors migrations/sqlite/0008_workspaces.sql:
-- the catalogue of workspaces (`default` always exists), and the workspace each experiment
-- belongs to; experiment names are unique per workspace, IDs across all of them.

CREATE TABLE workspaces (
    name                  TEXT COLLATE "C" PRIMARY KEY,
    description           TEXT COLLATE "C",
    default_artifact_root TEXT COLLATE "C"
);
INSERT INTO workspaces (name, description)
    VALUES ('default', 'Default workspace for legacy resources');

-- The foreign key makes a workspace impossible to delete while an experiment is in it, whatever
-- runs concurrently (a create holds the workspace's row FOR KEY SHARE).
ALTER TABLE experiments ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT 'default'
    REFERENCES workspaces (name);
ALTER TABLE experiments DROP CONSTRAINT experiments_name_key;
ALTER TABLE experiments ADD CONSTRAINT experiments_workspace_name_key UNIQUE (workspace, name);
CREATE INDEX experiments_by_workspace ON experiments (workspace, creation_time DESC);

-- Keel schema, version 11 (PostgreSQL): registered models (and so prompts) and webhooks belong
-- to a workspace. Mirrors migrations/sqlite/0009_registry_workspaces.sql: model names are unique
-- per workspace, and the foreign keys make a workspace impossible to delete while a model or a
-- webhook is in it (a create holds the workspace's row FOR KEY SHARE).

ALTER TABLE registered_models ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT 'default'
    REFERENCES workspaces (name);
ALTER TABLE registered_models DROP CONSTRAINT registered_models_name_key;
ALTER TABLE registered_models ADD CONSTRAINT registered_models_workspace_name_key
    UNIQUE (workspace, name);

ALTER TABLE webhooks ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT 'default'
    REFERENCES workspaces (name);
CREATE INDEX webhooks_by_workspace ON webhooks (workspace);

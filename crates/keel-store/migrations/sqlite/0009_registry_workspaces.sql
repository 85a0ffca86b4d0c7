-- Keel schema, version 9 (SQLite): registered models (and so prompts) and webhooks belong to a
-- workspace, as experiments do since version 8. Model names are unique per workspace; versions,
-- tags and aliases follow their model by `model_key`. The foreign keys make a workspace
-- impossible to delete while a model or a webhook is in it, whatever runs concurrently.
-- SQLite cannot drop the old UNIQUE (name) in place, so registered_models is rebuilt (the
-- migration runs with foreign keys off and checks them before it commits).

CREATE TABLE registered_models_rebuilt (
    model_key         INTEGER PRIMARY KEY,
    workspace         TEXT    NOT NULL DEFAULT 'default' REFERENCES workspaces (name),
    name              TEXT    NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT,
    last_version      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace, name)
);
INSERT INTO registered_models_rebuilt (model_key, name, creation_time, last_updated_time,
                                       description, last_version)
    SELECT model_key, name, creation_time, last_updated_time, description, last_version
    FROM registered_models;
DROP TABLE registered_models;
ALTER TABLE registered_models_rebuilt RENAME TO registered_models;
CREATE INDEX registered_models_by_update ON registered_models (last_updated_time, name);

ALTER TABLE webhooks ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default'
    REFERENCES workspaces (name);
CREATE INDEX webhooks_by_workspace ON webhooks (workspace);

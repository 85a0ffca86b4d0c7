-- Keel schema, version 3 (SQLite): the model registry.
-- A registered model is named by `name` but referenced by `model_key`, an integer surrogate, so
-- a rename changes one row and versions, tags and aliases follow without rewriting.
-- `last_version` is the highest version number ever handed out for the model; a new version
-- takes `last_version + 1`, so numbers are never reused after a version is deleted.

CREATE TABLE registered_models (
    model_key         INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT,
    last_version      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX registered_models_by_update ON registered_models (last_updated_time, name);

CREATE TABLE registered_model_tags (
    model_key INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (model_key, key)
) WITHOUT ROWID;
CREATE INDEX registered_model_tags_by_key ON registered_model_tags (key, value);

-- `run_id` is '' when the version has no run (the reference stores the empty string, and
-- filters such as `run_id != 'x'` match such versions).
CREATE TABLE model_versions (
    model_key         INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT,
    user_id           TEXT,
    current_stage     TEXT    NOT NULL CHECK (current_stage IN ('None', 'Staging', 'Production', 'Archived')),
    source            TEXT    NOT NULL,
    storage_location  TEXT,
    run_id            TEXT    NOT NULL,
    run_link          TEXT,
    status            TEXT    NOT NULL CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
    status_message    TEXT,
    model_id          TEXT,
    PRIMARY KEY (model_key, version)
) WITHOUT ROWID;
CREATE INDEX model_versions_by_run ON model_versions (run_id);
CREATE INDEX model_versions_by_update ON model_versions (last_updated_time DESC);
-- The latest version of each stage (registered models' `latest_versions`).
CREATE INDEX model_versions_by_stage ON model_versions (model_key, current_stage, version);

CREATE TABLE model_version_tags (
    model_key INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (model_key, version, key),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX model_version_tags_by_key ON model_version_tags (key, value);

-- An alias points at one version and goes when that version is deleted.
CREATE TABLE registered_model_aliases (
    model_key INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    alias     TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (model_key, alias),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
) WITHOUT ROWID;

-- Keel schema, version 4 (PostgreSQL): the model registry. Mirrors
-- migrations/sqlite/0003_registry.sql (the numbers differ: PostgreSQL's version 3 holds search
-- indexes SQLite does not need).
-- A registered model is named by `name` but referenced by `model_key`, an integer surrogate, so
-- a rename changes one row and versions, tags and aliases follow without rewriting.
-- `last_version` is the highest version number ever handed out for the model; a new version
-- locks the model's row and takes `last_version + 1`, so concurrent creations get distinct
-- numbers and numbers are never reused after a version is deleted.

CREATE TABLE registered_models (
    model_key         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              TEXT COLLATE "C" NOT NULL UNIQUE,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT COLLATE "C",
    last_version      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX registered_models_by_update ON registered_models (last_updated_time, name);

CREATE TABLE registered_model_tags (
    model_key BIGINT NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_key, key)
);
CREATE INDEX registered_model_tags_by_key ON registered_model_tags (key, left(value, 100));

-- `run_id` is '' when the version has no run (the reference stores the empty string, and
-- filters such as `run_id != 'x'` match such versions).
CREATE TABLE model_versions (
    model_key         BIGINT NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    version           BIGINT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT COLLATE "C",
    user_id           TEXT COLLATE "C",
    current_stage     TEXT COLLATE "C" NOT NULL CHECK (current_stage IN ('None', 'Staging', 'Production', 'Archived')),
    source            TEXT COLLATE "C" NOT NULL,
    storage_location  TEXT COLLATE "C",
    run_id            TEXT COLLATE "C" NOT NULL,
    run_link          TEXT COLLATE "C",
    status            TEXT COLLATE "C" NOT NULL CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
    status_message    TEXT COLLATE "C",
    model_id          TEXT COLLATE "C",
    PRIMARY KEY (model_key, version)
);
CREATE INDEX model_versions_by_run ON model_versions (run_id);
CREATE INDEX model_versions_by_update ON model_versions (last_updated_time DESC);
-- The latest version of each stage (registered models' `latest_versions`).
CREATE INDEX model_versions_by_stage ON model_versions (model_key, current_stage, version);

CREATE TABLE model_version_tags (
    model_key BIGINT NOT NULL,
    version   BIGINT NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_key, version, key),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
);
CREATE INDEX model_version_tags_by_key ON model_version_tags (key, left(value, 100));

-- An alias points at one version and goes when that version is deleted.
CREATE TABLE registered_model_aliases (
    model_key BIGINT NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    alias     TEXT COLLATE "C" NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (model_key, alias),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
);

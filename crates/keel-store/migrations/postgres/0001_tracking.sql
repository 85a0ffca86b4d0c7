-- Keel tracking schema, version 1 (PostgreSQL). Mirrors migrations/sqlite/0001_tracking.sql:
-- the same tables, keys and meaning, so both backends behave alike.
-- Timestamps are milliseconds since the Unix epoch. IDs are created by the domain layer.
-- Rows that belong to a run reference it by `run_key`, a small integer surrogate of the run's
-- 32-character ID: metric, param and tag indexes compare integers and stay compact.
-- Every text column is COLLATE "C": comparisons and ORDER BY are byte-wise (as SQLite's
-- BINARY), whatever the database's default collation, and lower()/ILIKE fold ASCII only.
-- Indexes on (key, value) of free text would fail for long values (a B-tree entry holds at most
-- ~2.7 kB), so params and tags are indexed by (key, run_key) only.

CREATE TABLE experiments (
    experiment_id     BIGINT PRIMARY KEY,
    name              TEXT COLLATE "C" NOT NULL UNIQUE,
    artifact_location TEXT COLLATE "C" NOT NULL,
    lifecycle_stage   TEXT COLLATE "C" NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL,
    deleted_time      BIGINT
);
CREATE INDEX experiments_by_creation ON experiments (creation_time DESC, experiment_id);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT COLLATE "C" NOT NULL,
    value         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_key         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_uuid        TEXT COLLATE "C" NOT NULL UNIQUE,
    experiment_id   BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name            TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    artifact_uri    TEXT COLLATE "C" NOT NULL,
    lifecycle_stage TEXT COLLATE "C" NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    deleted_time    BIGINT
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC, run_uuid);

CREATE TABLE params (
    run_key  BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_key, key)
);
CREATE INDEX params_by_key ON params (key, run_key);

CREATE TABLE tags (
    run_key  BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_key, key)
);
CREATE INDEX tags_by_key ON tags (key, run_key);

-- Every logged metric point. Identical points (same key, step, timestamp and value) are stored once.
-- The primary key orders a run's points by (key, timestamp, step) so a history read is one
-- index range scan. NaN points have value 0 and is_nan = 1, as in SQLite.
CREATE TABLE metrics (
    run_key        BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key            TEXT COLLATE "C" NOT NULL,
    step           BIGINT NOT NULL,
    timestamp      BIGINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    is_nan         SMALLINT NOT NULL CHECK (is_nan IN (0, 1)),
    model_id       TEXT COLLATE "C",
    dataset_name   TEXT COLLATE "C",
    dataset_digest TEXT COLLATE "C",
    PRIMARY KEY (run_key, key, timestamp, step, value, is_nan)
);

-- The value a run shows for each metric key: the point with the largest (step, timestamp, value).
CREATE TABLE latest_metrics (
    run_key   BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    step      BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    is_nan    SMALLINT NOT NULL CHECK (is_nan IN (0, 1)),
    PRIMARY KEY (run_key, key)
);
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

CREATE TABLE datasets (
    dataset_uuid   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    experiment_id  BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name           TEXT COLLATE "C" NOT NULL,
    digest         TEXT COLLATE "C" NOT NULL,
    source_type    TEXT COLLATE "C" NOT NULL,
    source         TEXT COLLATE "C" NOT NULL,
    schema         TEXT COLLATE "C",
    profile        TEXT COLLATE "C",
    UNIQUE (experiment_id, name, digest)
);

-- A dataset used as an input of a run, with the input's tags (e.g. mlflow.data.context).
CREATE TABLE run_dataset_inputs (
    run_key      BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    dataset_uuid TEXT COLLATE "C" NOT NULL REFERENCES datasets (dataset_uuid) ON DELETE CASCADE,
    PRIMARY KEY (run_key, dataset_uuid)
);
CREATE INDEX run_dataset_inputs_by_dataset ON run_dataset_inputs (dataset_uuid);

CREATE TABLE run_dataset_input_tags (
    run_key      BIGINT NOT NULL,
    dataset_uuid TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_key, dataset_uuid, key),
    FOREIGN KEY (run_key, dataset_uuid) REFERENCES run_dataset_inputs (run_key, dataset_uuid) ON DELETE CASCADE
);

-- MLflow 3 logged models used by (inputs) or produced by (outputs) a run.
CREATE TABLE run_model_inputs (
    run_key  BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    model_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_key, model_id)
);

CREATE TABLE run_model_outputs (
    run_key  BIGINT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    model_id TEXT COLLATE "C" NOT NULL,
    step     BIGINT NOT NULL,
    PRIMARY KEY (run_key, model_id)
);

-- Keel tracking schema, version 1 (SQLite).
-- Timestamps are milliseconds since the Unix epoch. IDs are created by the domain layer.
-- Rows that belong to a run reference it by `run_key`, a small integer surrogate of the run's
-- 32-character ID: metric, param and tag B-trees compare integers and stay compact.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    deleted_time      INTEGER
);
CREATE INDEX experiments_by_creation ON experiments (creation_time DESC, experiment_id);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE runs (
    run_key         INTEGER PRIMARY KEY,
    run_uuid        TEXT    NOT NULL UNIQUE,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    artifact_uri    TEXT    NOT NULL,
    lifecycle_stage TEXT    NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    deleted_time    INTEGER
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC, run_uuid);

CREATE TABLE params (
    run_key  INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;
CREATE INDEX params_by_key ON params (key, value);

CREATE TABLE tags (
    run_key  INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;
CREATE INDEX tags_by_key ON tags (key, value);

-- Every logged metric point. Identical points (same key, step, timestamp and value) are stored once.
-- Clustered by (run, key, timestamp, step) so a history read is one ordered range scan.
-- NaN cannot be stored in a SQLite REAL, so NaN points have value 0 and is_nan = 1.
CREATE TABLE metrics (
    run_key        INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    step           INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_key, key, timestamp, step, value, is_nan)
) WITHOUT ROWID;

-- The value a run shows for each metric key: the point with the largest (step, timestamp, value).
CREATE TABLE latest_metrics (
    run_key   INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    step      INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    value     REAL    NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

CREATE TABLE datasets (
    dataset_uuid   TEXT    NOT NULL PRIMARY KEY,
    experiment_id  INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    digest         TEXT    NOT NULL,
    source_type    TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    schema         TEXT,
    profile        TEXT,
    UNIQUE (experiment_id, name, digest)
);

-- A dataset used as an input of a run, with the input's tags (e.g. mlflow.data.context).
CREATE TABLE run_dataset_inputs (
    run_key      INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    dataset_uuid TEXT NOT NULL REFERENCES datasets (dataset_uuid) ON DELETE CASCADE,
    PRIMARY KEY (run_key, dataset_uuid)
) WITHOUT ROWID;
CREATE INDEX run_dataset_inputs_by_dataset ON run_dataset_inputs (dataset_uuid);

CREATE TABLE run_dataset_input_tags (
    run_key      INTEGER NOT NULL,
    dataset_uuid TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (run_key, dataset_uuid, key),
    FOREIGN KEY (run_key, dataset_uuid) REFERENCES run_dataset_inputs (run_key, dataset_uuid) ON DELETE CASCADE
) WITHOUT ROWID;

-- MLflow 3 logged models used by (inputs) or produced by (outputs) a run.
CREATE TABLE run_model_inputs (
    run_key  INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_key, model_id)
) WITHOUT ROWID;

CREATE TABLE run_model_outputs (
    run_key  INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    model_id TEXT    NOT NULL,
    step     INTEGER NOT NULL,
    PRIMARY KEY (run_key, model_id)
) WITHOUT ROWID;

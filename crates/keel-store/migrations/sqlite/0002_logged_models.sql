-- Keel tracking schema, version 2 (SQLite): MLflow 3 logged models.
-- A logged model belongs to an experiment (and goes with it when the experiment is purged).
-- Its metrics are the `metrics` rows whose model_id names it, logged through runs.

CREATE TABLE logged_models (
    model_id                  TEXT    NOT NULL PRIMARY KEY,
    experiment_id             INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name                      TEXT    NOT NULL,
    artifact_location         TEXT    NOT NULL,
    creation_timestamp_ms     INTEGER NOT NULL,
    last_updated_timestamp_ms INTEGER NOT NULL,
    status                    TEXT    NOT NULL CHECK (status IN ('UNSPECIFIED', 'PENDING', 'READY', 'FAILED')),
    status_message            TEXT,
    model_type                TEXT,
    source_run_id             TEXT,
    lifecycle_stage           TEXT    NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted'))
);
-- The default search order within experiments, and `runs:/<run>/<name>` resolution by name.
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE INDEX logged_models_by_name ON logged_models (experiment_id, name);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- A model's metric points, found without scanning every run's metrics.
CREATE INDEX metrics_by_model ON metrics (model_id, key) WHERE model_id IS NOT NULL;

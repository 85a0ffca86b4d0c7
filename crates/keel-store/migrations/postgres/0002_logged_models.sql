-- Keel tracking schema, version 2 (PostgreSQL): MLflow 3 logged models. Mirrors
-- migrations/sqlite/0002_logged_models.sql.
-- A logged model belongs to an experiment (and goes with it when the experiment is purged).
-- Its metrics are the `metrics` rows whose model_id names it, logged through runs.

CREATE TABLE logged_models (
    model_id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    experiment_id             BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name                      TEXT COLLATE "C" NOT NULL,
    artifact_location         TEXT COLLATE "C" NOT NULL,
    creation_timestamp_ms     BIGINT NOT NULL,
    last_updated_timestamp_ms BIGINT NOT NULL,
    status                    TEXT COLLATE "C" NOT NULL CHECK (status IN ('UNSPECIFIED', 'PENDING', 'READY', 'FAILED')),
    status_message            TEXT COLLATE "C",
    model_type                TEXT COLLATE "C",
    source_run_id             TEXT COLLATE "C",
    lifecycle_stage           TEXT COLLATE "C" NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted'))
);
-- The default search order within experiments, and `runs:/<run>/<name>` resolution by name.
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE INDEX logged_models_by_name ON logged_models (experiment_id, name);

CREATE TABLE logged_model_params (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_tags (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- A model's metric points, found without scanning every run's metrics.
CREATE INDEX metrics_by_model ON metrics (model_id, key) WHERE model_id IS NOT NULL;

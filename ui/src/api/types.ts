//! The MLflow entities as Keel's JSON API returns them (proto3 JSON: int64 values arrive as strings).

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  last_update_time?: string | number;
  creation_time?: string | number;
  tags?: KeyValue[];
}

export interface Metric {
  key: string;
  value: number | string;
  timestamp: string | number;
  step?: string | number;
  dataset_name?: string;
  dataset_digest?: string;
  model_id?: string;
  run_id?: string;
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: RunStatus;
  start_time?: string | number;
  end_time?: string | number;
  artifact_uri?: string;
  lifecycle_stage: 'active' | 'deleted';
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: Dataset;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: { model_id: string }[] };
  outputs?: { model_outputs?: { model_id: string; step: string | number }[] };
}

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: string | number;
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: string | number;
  last_updated_timestamp?: string | number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  status_message?: string;
  tags?: KeyValue[];
  aliases?: string[];
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: string | number;
  last_updated_timestamp?: string | number;
  user_id?: string;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms?: string | number;
    last_updated_timestamp_ms?: string | number;
    artifact_uri?: string;
    status?: string;
    source_run_id?: string;
    model_type?: string;
    tags?: KeyValue[];
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}

export interface Assessment {
  assessment_id: string;
  assessment_name: string;
  trace_id: string;
  span_id?: string;
  source?: { source_type: string; source_id?: string };
  create_time?: string;
  last_update_time?: string;
  feedback?: { value?: unknown; error?: { error_code?: string; error_message?: string } };
  expectation?: { value?: unknown; serialized_value?: { serialization_format: string; value: string } };
  rationale?: string;
  metadata?: Record<string, string>;
  valid?: boolean;
  overrides?: string;
}

export interface TraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location?: { type: string; mlflow_experiment?: { experiment_id: string } };
  request_preview?: string;
  response_preview?: string;
  request_time?: string;
  execution_duration?: string;
  state?: 'STATE_UNSPECIFIED' | 'OK' | 'ERROR' | 'IN_PROGRESS';
  trace_metadata?: Record<string, string>;
  tags?: Record<string, string>;
  assessments?: Assessment[];
}

/** One row of Keel's span skeleton: `[id, parent, name, type, status, start_us, end_us]`. */
export type SpanRow = [string, string | null, string, string, string, number, number | null];

/** A span as OpenTelemetry JSON, as `traces/get` and the single-span route return it. */
export interface OtelSpan {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  /** Nanoseconds since the epoch (a JSON number beyond 2^53: exact only as text; use for display). */
  start_time_unix_nano: string | number;
  end_time_unix_nano?: string | number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  events?: { name: string; time_unix_nano: string | number; attributes?: { key: string; value: Record<string, unknown> }[] }[];
  status?: { code?: string; message?: string };
}

//! Wire shapes of MLflow's deprecated v2 trace API, which older clients still call: start, end
//! and get a trace's info (`TraceInfo` with `request_id`), and search.

use std::collections::BTreeMap;

use keel_core::traces::{SearchTraces, TraceEndV2, TraceInfo, TraceStartV2, TraceState};
use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::proto::{Stringish, one_or_many, opt_i64, opt_string};

/// A `{key, value}` entry of a v2 request's `request_metadata` or `tags`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct KeyValueIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

/// The entries as a map (a later entry wins); every entry needs a key, as on the reference.
fn key_values(field: &str, entries: Vec<KeyValueIn>) -> Result<BTreeMap<String, String>> {
    entries
        .into_iter()
        .map(|e| match e.key {
            Some(key) if !key.is_empty() => Ok((key, e.value.unwrap_or_default())),
            _ => Err(Error::missing_parameter(field)),
        })
        .collect()
}

/// The v2 `StartTrace` request (`POST /api/2.0/mlflow/traces`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct StartTraceV2In {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp_ms: Option<i64>,
    #[serde(default)]
    pub request_metadata: Vec<KeyValueIn>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
}

impl StartTraceV2In {
    pub fn into_domain(self) -> Result<TraceStartV2> {
        Ok(TraceStartV2 {
            experiment_id: self.experiment_id.unwrap_or_default(),
            request_time_ms: self.timestamp_ms.unwrap_or_default(),
            metadata: key_values("request_metadata", self.request_metadata)?,
            tags: key_values("tags", self.tags)?,
        })
    }
}

/// The v2 `EndTrace` request (`PATCH /api/2.0/mlflow/traces/{request_id}`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EndTraceV2In {
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp_ms: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default)]
    pub request_metadata: Vec<KeyValueIn>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
}

impl EndTraceV2In {
    pub fn into_domain(self) -> Result<TraceEndV2> {
        let state = match self.status.as_deref() {
            None | Some("TRACE_STATUS_UNSPECIFIED") => TraceState::Unspecified,
            Some(other) => TraceState::parse(other)?,
        };
        Ok(TraceEndV2 {
            end_time_ms: self.timestamp_ms.unwrap_or_default(),
            state,
            metadata: key_values("request_metadata", self.request_metadata)?,
            tags: key_values("tags", self.tags)?,
        })
    }
}

/// The response of the v2 `StartTrace`, `EndTrace` and `GetTraceInfo`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TraceInfoV2Out {
    pub trace_info: TraceInfoV2,
}

/// The v2 `SearchTraces` request (`GET /api/2.0/mlflow/traces`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SearchTracesV2In {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<Stringish>,
    #[serde(default, deserialize_with = "opt_string")]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
}

impl SearchTracesV2In {
    pub fn into_domain(self) -> Result<SearchTraces> {
        if self.experiment_ids.is_empty() {
            return Err(Error::missing_parameter("experiment_ids"));
        }
        let experiment_ids = self.experiment_ids.into_iter().map(|id| id.0).collect();
        Ok(SearchTraces {
            experiment_ids,
            filter: self.filter,
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: self.page_token,
        })
    }
}

/// A `{key, value}` pair of the v2 `TraceInfo`.
#[derive(Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// The v2 `TraceInfo` (`mlflow.TraceInfo`), as the reference's `TraceInfoV2.from_v3` writes it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TraceInfoV2 {
    pub request_id: String,
    pub experiment_id: String,
    pub timestamp_ms: i64,
    pub execution_time_ms: i64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_metadata: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// Request metadata keys and values are cut to 250 characters, tag keys to 250 and tag values
/// to 4,096 (the reference's `_truncate_request_metadata` / `_truncate_tags`).
const V2_METADATA_CHARS: usize = 250;
const V2_TAG_KEY_CHARS: usize = 250;
const V2_TAG_VALUE_CHARS: usize = 4096;

fn cut(s: String, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((end, _)) => s[..end].to_owned(),
        None => s,
    }
}

impl From<TraceInfo> for TraceInfoV2 {
    fn from(info: TraceInfo) -> Self {
        Self {
            request_id: info.trace_id.to_string(),
            experiment_id: info.experiment_id,
            timestamp_ms: info.request_time_ms,
            execution_time_ms: info.execution_duration_ms.unwrap_or(0),
            status: match info.state {
                TraceState::Unspecified => "TRACE_STATUS_UNSPECIFIED",
                other => other.as_str(),
            },
            request_metadata: info
                .metadata
                .into_iter()
                .map(|(key, value)| KeyValue {
                    key: cut(key, V2_METADATA_CHARS),
                    value: cut(value, V2_METADATA_CHARS),
                })
                .collect(),
            tags: info
                .tags
                .into_iter()
                .map(|(key, value)| KeyValue {
                    key: cut(key, V2_TAG_KEY_CHARS),
                    value: cut(value, V2_TAG_VALUE_CHARS),
                })
                .collect(),
        }
    }
}

/// The v2 `SearchTraces` response.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchTracesV2Out {
    pub traces: Vec<TraceInfoV2>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

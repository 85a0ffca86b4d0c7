//! How both backends store an assessment: its value and error as JSON text, the value's numeric
//! form for filters, and its metadata as a JSON object.

use std::collections::BTreeMap;

use keel_core::traces::{Assessment, AssessmentValue, SourceType, TraceId};
use keel_core::{Error, Result};
use serde_json::Value;

/// An assessment's columns, ready to bind.
pub(crate) struct AssessmentRow<'a> {
    pub assessment_id: &'a str,
    pub name: &'a str,
    pub kind: &'static str,
    pub value: Option<String>,
    pub numeric_value: Option<f64>,
    pub error: Option<String>,
    pub source_type: &'static str,
    pub source_id: &'a str,
    pub span_id: Option<&'a str>,
    pub rationale: Option<&'a str>,
    pub metadata: String,
    pub overrides: Option<&'a str>,
    pub valid: bool,
    pub create_time: i64,
    pub last_update_time: i64,
}

impl<'a> From<&'a Assessment> for AssessmentRow<'a> {
    fn from(a: &'a Assessment) -> Self {
        Self {
            assessment_id: &a.assessment_id,
            name: &a.name,
            kind: a.value.kind(),
            value: a.value.value().map(Value::to_string),
            numeric_value: a.value.numeric(),
            error: a.value.error().map(Value::to_string),
            source_type: a.source_type.as_str(),
            source_id: &a.source_id,
            span_id: a.span_id.as_deref(),
            rationale: a.rationale.as_deref(),
            metadata: serde_json::to_string(&a.metadata).unwrap_or_else(|_| "{}".to_owned()),
            overrides: a.overrides.as_deref(),
            valid: a.valid,
            create_time: a.create_time_ms,
            last_update_time: a.last_update_time_ms,
        }
    }
}

/// The columns every read selects, in [`assessment_from_columns`]'s order (plus the trace's ID).
pub(crate) const ASSESSMENT_COLUMNS: &str = "a.assessment_id, t.trace_id, a.name, a.kind, a.value, \
     a.error, a.source_type, a.source_id, a.span_id, a.rationale, a.metadata, a.overrides, \
     a.valid, a.create_time, a.last_update_time";

/// The stored columns of an assessment, owned.
pub(crate) struct StoredAssessment {
    pub assessment_id: String,
    pub trace_id: String,
    pub name: String,
    pub kind: String,
    pub value: Option<String>,
    pub error: Option<String>,
    pub source_type: String,
    pub source_id: String,
    pub span_id: Option<String>,
    pub rationale: Option<String>,
    pub metadata: String,
    pub overrides: Option<String>,
    pub valid: bool,
    pub create_time: i64,
    pub last_update_time: i64,
}

fn corrupt(what: &str) -> Error {
    Error::internal(format!("stored assessment has an invalid {what}"))
}

fn json(text: Option<String>, what: &str) -> Result<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|_| corrupt(what)))
        .transpose()
}

impl StoredAssessment {
    pub(crate) fn into_domain(self) -> Result<Assessment> {
        let value = json(self.value, "value")?;
        let value = match self.kind.as_str() {
            "feedback" => AssessmentValue::Feedback {
                value,
                error: json(self.error, "error")?,
            },
            "expectation" => AssessmentValue::Expectation {
                value: value.unwrap_or(Value::Null),
            },
            _ => return Err(corrupt("kind")),
        };
        let metadata: BTreeMap<String, String> =
            serde_json::from_str(&self.metadata).map_err(|_| corrupt("metadata"))?;
        Ok(Assessment {
            assessment_id: self.assessment_id,
            trace_id: TraceId::parse(&self.trace_id).map_err(|_| corrupt("trace ID"))?,
            name: self.name,
            span_id: self.span_id,
            source_type: SourceType::parse(&self.source_type).map_err(|_| corrupt("source"))?,
            source_id: self.source_id,
            create_time_ms: self.create_time,
            last_update_time_ms: self.last_update_time,
            value,
            rationale: self.rationale,
            metadata,
            overrides: self.overrides,
            valid: self.valid,
        })
    }
}

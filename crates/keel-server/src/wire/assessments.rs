//! Wire types of assessments (`mlflow.assessments.Assessment`) and their conversions: feedback
//! values as native JSON, expectations as a JSON value or a `serialized_value` (the client's form
//! for objects, lists and null), times as RFC 3339 strings, update masks as the comma-joined
//! camelCase string protobuf's JSON writes (or a `paths` list).

use std::collections::BTreeMap;

use keel_core::traces::{Assessment, AssessmentUpdate, AssessmentValue, SourceType, TraceId};
use keel_core::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::proto::opt_string;
use super::traces::{ms_from_rfc3339, rfc3339_from_ms};

/// The serialization format of `Expectation.serialized_value` the client writes.
const JSON_FORMAT: &str = "JSON_FORMAT";

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SourceIn {
    #[serde(default, deserialize_with = "opt_string")]
    source_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    source_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct FeedbackIn {
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SerializedValueIn {
    #[serde(default)]
    serialization_format: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ExpectationIn {
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    serialized_value: Option<SerializedValueIn>,
}

/// An assessment as the client sends it.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AssessmentIn {
    #[serde(default, deserialize_with = "opt_string")]
    assessment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    assessment_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    span_id: Option<String>,
    #[serde(default)]
    source: Option<SourceIn>,
    #[serde(default, deserialize_with = "opt_string")]
    create_time: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    last_update_time: Option<String>,
    #[serde(default)]
    feedback: Option<FeedbackIn>,
    #[serde(default)]
    expectation: Option<ExpectationIn>,
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "opt_string")]
    overrides: Option<String>,
}

impl FeedbackIn {
    fn into_value(self) -> AssessmentValue {
        AssessmentValue::Feedback {
            value: self.value.filter(|v| !v.is_null()),
            error: self.error.filter(|e| !e.is_null()),
        }
    }
}

impl ExpectationIn {
    fn into_value(self) -> Result<AssessmentValue> {
        let value = match (self.value, self.serialized_value) {
            (_, Some(serialized)) => {
                let format = serialized.serialization_format.unwrap_or_default();
                if format != JSON_FORMAT {
                    return Err(Error::invalid(format!(
                        "Unknown serialization format: {format}. Only {JSON_FORMAT} is supported."
                    )));
                }
                let text = serialized.value.unwrap_or_default();
                serde_json::from_str(&text).map_err(|_| {
                    Error::invalid("The expectation's serialized value is not valid JSON.")
                })?
            }
            (Some(value), None) => value,
            (None, None) => {
                return Err(Error::invalid(
                    "An expectation needs a 'value' or a 'serialized_value'.",
                ));
            }
        };
        Ok(AssessmentValue::Expectation { value })
    }
}

/// The value of an assessment: exactly one of feedback and expectation.
fn assessment_value(
    feedback: Option<FeedbackIn>,
    expectation: Option<ExpectationIn>,
) -> Result<AssessmentValue> {
    match (feedback, expectation) {
        (Some(f), None) => Ok(f.into_value()),
        (None, Some(e)) => e.into_value(),
        _ => Err(Error::invalid(
            "An assessment must have exactly one of 'feedback' and 'expectation'.",
        )),
    }
}

fn time(field: &str, value: Option<String>) -> Result<i64> {
    value
        .filter(|t| !t.is_empty())
        .map(|t| ms_from_rfc3339(field, &t))
        .transpose()
        .map(Option::unwrap_or_default)
}

impl AssessmentIn {
    /// A new assessment of `trace_id` (the path's, whatever the body says). The server fills in
    /// the ID and times the client left out.
    pub fn into_new(self, trace_id: TraceId) -> Result<Assessment> {
        let source = self.source.unwrap_or_default();
        let source_type = match source.source_type.as_deref() {
            None | Some("") | Some("SOURCE_TYPE_UNSPECIFIED") | Some("0") => SourceType::Code,
            Some(name) => SourceType::parse(name)?,
        };
        Ok(Assessment {
            assessment_id: self.assessment_id.unwrap_or_default(),
            trace_id,
            name: self.assessment_name.unwrap_or_default(),
            span_id: self.span_id.filter(|s| !s.is_empty()),
            source_type,
            source_id: source.source_id.unwrap_or_else(|| "default".to_owned()),
            create_time_ms: time("create_time", self.create_time)?,
            last_update_time_ms: time("last_update_time", self.last_update_time)?,
            value: assessment_value(self.feedback, self.expectation)?,
            rationale: self.rationale.filter(|r| !r.is_empty()),
            metadata: self.metadata.unwrap_or_default(),
            overrides: self.overrides.filter(|o| !o.is_empty()),
            valid: true,
        })
    }

    /// The changes an update mask selects from this assessment.
    pub fn into_update(self, mask: &[String]) -> Result<AssessmentUpdate> {
        let mut update = AssessmentUpdate::default();
        let (mut feedback, mut expectation) = (self.feedback, self.expectation);
        for path in mask {
            match path.as_str() {
                "assessment_name" => {
                    update.name = Some(self.assessment_name.clone().unwrap_or_default())
                }
                "feedback" => update.value = Some(
                    feedback
                        .take()
                        .ok_or_else(|| {
                            Error::invalid(
                                "The update mask names 'feedback', but the assessment has none.",
                            )
                        })?
                        .into_value(),
                ),
                "expectation" => update.value = Some(
                    expectation
                        .take()
                        .ok_or_else(|| {
                            Error::invalid(
                                "The update mask names 'expectation', but the assessment has none.",
                            )
                        })?
                        .into_value()?,
                ),
                "rationale" => update.rationale = Some(self.rationale.clone().unwrap_or_default()),
                "metadata" => update.metadata = Some(self.metadata.clone().unwrap_or_default()),
                other => {
                    return Err(Error::invalid(format!(
                        "Cannot update '{other}' of an assessment: only assessment_name, feedback, \
                         expectation, rationale and metadata can change."
                    )));
                }
            }
        }
        Ok(update)
    }
}

/// `update_mask`: protobuf JSON writes a `FieldMask` as one comma-joined camelCase string;
/// a `{"paths": [...]}` object is accepted too. Paths come back in snake_case.
pub fn mask_paths(mask: Option<&Value>) -> Result<Vec<String>> {
    let paths: Vec<String> = match mask {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Object(o)) => match o.get("paths") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if paths.is_empty() {
        return Err(Error::missing_parameter("update_mask"));
    }
    Ok(paths.iter().map(|p| snake_case(p)).collect())
}

fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An assessment as the client reads it.
pub fn assessment_json(a: &Assessment) -> Value {
    let mut out = Map::new();
    out.insert("assessment_id".into(), json!(a.assessment_id));
    out.insert("assessment_name".into(), json!(a.name));
    out.insert("trace_id".into(), json!(a.trace_id.as_str()));
    if let Some(span) = &a.span_id {
        out.insert("span_id".into(), json!(span));
    }
    out.insert(
        "source".into(),
        json!({"source_type": a.source_type.as_str(), "source_id": a.source_id}),
    );
    out.insert(
        "create_time".into(),
        json!(rfc3339_from_ms(a.create_time_ms)),
    );
    out.insert(
        "last_update_time".into(),
        json!(rfc3339_from_ms(a.last_update_time_ms)),
    );
    match &a.value {
        AssessmentValue::Feedback { value, error } => {
            let mut feedback = Map::new();
            feedback.insert("value".into(), value.clone().unwrap_or(Value::Null));
            if let Some(error) = error {
                feedback.insert("error".into(), error.clone());
            }
            out.insert("feedback".into(), Value::Object(feedback));
        }
        AssessmentValue::Expectation { value } => {
            let expectation = match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => json!({"value": value}),
                other => json!({"serialized_value": {
                    "serialization_format": JSON_FORMAT, "value": other.to_string()}}),
            };
            out.insert("expectation".into(), expectation);
        }
    }
    if let Some(rationale) = &a.rationale {
        out.insert("rationale".into(), json!(rationale));
    }
    if !a.metadata.is_empty() {
        out.insert("metadata".into(), json!(a.metadata));
    }
    if let Some(overrides) = &a.overrides {
        out.insert("overrides".into(), json!(overrides));
    }
    out.insert("valid".into(), json!(a.valid));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> AssessmentIn {
        serde_json::from_value(v).expect("parses")
    }

    #[test]
    fn the_clients_feedback_and_expectations_parse_and_render() {
        let fb = parse(json!({"assessment_name": "correct", "trace_id": "tr-x",
            "source": {"source_type": "LLM_JUDGE", "source_id": "gpt-4o"},
            "create_time": "2026-11-24T08:31:43.968Z", "last_update_time": "2026-11-24T08:31:43.968Z",
            "feedback": {"value": true}, "rationale": "looks right", "metadata": {"k": "v"}, "valid": true}))
        .into_new(TraceId::from_otel([1; 16]))
        .expect("valid");
        assert_eq!(fb.source_type, SourceType::LlmJudge);
        assert_eq!(fb.value.numeric(), Some(1.0));
        let out = assessment_json(&fb);
        assert_eq!(out["feedback"], json!({"value": true}));
        assert_eq!(out["create_time"], "2026-11-24T08:31:43.968Z");
        assert_eq!(out["trace_id"], format!("tr-{}", "01".repeat(16)));

        let ex = parse(json!({"assessment_name": "truth", "source": {"source_type": "HUMAN", "source_id": "ann"},
            "expectation": {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": "{\"a\": [1, 2]}"}}}))
        .into_new(TraceId::from_otel([1; 16]))
        .expect("valid");
        assert_eq!(ex.value.value(), Some(&json!({"a": [1, 2]})));
        assert_eq!(
            assessment_json(&ex)["expectation"]["serialized_value"]["value"],
            "{\"a\":[1,2]}"
        );
        let plain = parse(json!({"assessment_name": "n", "expectation": {"value": "Paris"}}))
            .into_new(TraceId::from_otel([1; 16]))
            .expect("valid");
        assert_eq!(
            assessment_json(&plain)["expectation"],
            json!({"value": "Paris"})
        );
        assert_eq!(plain.source_type, SourceType::Code);

        let error_only = parse(json!({"assessment_name": "n", "feedback": {"value": null,
            "error": {"error_code": "E", "error_message": "m"}}}))
        .into_new(TraceId::from_otel([1; 16]))
        .expect("valid");
        assert_eq!(
            assessment_json(&error_only)["feedback"]["error"]["error_code"],
            "E"
        );

        for bad in [
            json!({"assessment_name": "n"}),
            json!({"assessment_name": "n", "feedback": {"value": 1}, "expectation": {"value": 2}}),
            json!({"assessment_name": "n", "expectation": {}}),
            json!({"assessment_name": "n", "expectation": {"serialized_value": {"serialization_format": "PICKLE", "value": "x"}}}),
            json!({"assessment_name": "n", "feedback": {"value": 1}, "create_time": "yesterday"}),
            json!({"assessment_name": "n", "feedback": {"value": 1}, "source": {"source_type": "ROBOT"}}),
        ] {
            assert!(
                parse(bad.clone())
                    .into_new(TraceId::from_otel([1; 16]))
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn update_masks_select_fields() {
        assert_eq!(
            mask_paths(Some(&json!("assessmentName,feedback,rationale,metadata"))).expect("mask"),
            ["assessment_name", "feedback", "rationale", "metadata"]
        );
        assert_eq!(
            mask_paths(Some(&json!({"paths": ["feedback"]}))).expect("mask"),
            ["feedback"]
        );
        assert!(mask_paths(None).is_err());
        let update =
            parse(json!({"assessment_name": "n2", "feedback": {"value": 0.5}, "rationale": "r"}))
                .into_update(&["assessment_name".into(), "feedback".into()])
                .expect("update");
        assert_eq!(update.name.as_deref(), Some("n2"));
        assert!(update.rationale.is_none());
        assert!(parse(json!({})).into_update(&["source".into()]).is_err());
        assert!(parse(json!({})).into_update(&["feedback".into()]).is_err());
    }
}

//! Assessments: feedback (a judgement of a trace or span, by a human, an LLM judge or code) and
//! expectations (ground truth), with the reference's rules for overriding and updating them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::entities::TraceId;
use crate::error::{Error, Result};

/// Who or what made an assessment (`AssessmentSource.source_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    Human,
    LlmJudge,
    Code,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "HUMAN",
            Self::LlmJudge => "LLM_JUDGE",
            Self::Code => "CODE",
        }
    }

    /// The enum name or its proto number.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "HUMAN" | "1" => Ok(Self::Human),
            "LLM_JUDGE" | "2" => Ok(Self::LlmJudge),
            "CODE" | "3" => Ok(Self::Code),
            other => Err(Error::invalid(format!(
                "Invalid assessment source type '{other}'. Expected one of HUMAN, LLM_JUDGE, CODE."
            ))),
        }
    }
}

/// Whether an assessment is feedback or an expectation, with its value.
#[derive(Debug, Clone, PartialEq)]
pub enum AssessmentValue {
    /// A judgement; `value` is absent when only an error is recorded. `error` is the
    /// `AssessmentError` object (`error_code`, `error_message`, `stack_trace`).
    Feedback {
        value: Option<Value>,
        error: Option<Value>,
    },
    /// Ground truth: any JSON value.
    Expectation { value: Value },
}

impl AssessmentValue {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Feedback { .. } => "feedback",
            Self::Expectation { .. } => "expectation",
        }
    }

    /// The value, `None` for feedback that carries only an error.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Self::Feedback { value, .. } => value.as_ref(),
            Self::Expectation { value } => Some(value),
        }
    }

    pub fn error(&self) -> Option<&Value> {
        match self {
            Self::Feedback { error, .. } => error.as_ref(),
            Self::Expectation { .. } => None,
        }
    }

    /// The value as a number for numeric filters: numbers as they are, booleans as 1 and 0.
    pub fn numeric(&self) -> Option<f64> {
        match self.value()? {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
}

/// One assessment of a trace (or of one of its spans).
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// `a-<32 hex>`.
    pub assessment_id: String,
    pub trace_id: TraceId,
    pub name: String,
    pub span_id: Option<String>,
    pub source_type: SourceType,
    pub source_id: String,
    pub create_time_ms: i64,
    pub last_update_time_ms: i64,
    pub value: AssessmentValue,
    pub rationale: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The assessment this one replaces (which then becomes invalid).
    pub overrides: Option<String>,
    /// False once another assessment overrides this one.
    pub valid: bool,
}

/// The fields an update may change (the request's update mask, resolved).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssessmentUpdate {
    pub name: Option<String>,
    pub value: Option<AssessmentValue>,
    pub rationale: Option<String>,
    /// Merged into the stored metadata; new keys win.
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Assessment {
    /// Applies `update` at `now`, refusing to turn feedback into an expectation or back.
    pub fn apply(&mut self, update: AssessmentUpdate, now: i64) -> Result<()> {
        if let Some(value) = update.value {
            if value.kind() != self.value.kind() {
                return Err(Error::invalid(format!(
                    "Cannot update assessment '{}': it is {} and cannot become {}.",
                    self.assessment_id,
                    article(self.value.kind()),
                    article(value.kind())
                )));
            }
            self.value = value;
        }
        if let Some(name) = update.name {
            validate_name(&name)?;
            self.name = name;
        }
        if let Some(rationale) = update.rationale {
            self.rationale = Some(rationale).filter(|r| !r.is_empty());
        }
        if let Some(metadata) = update.metadata {
            self.metadata.extend(metadata);
        }
        self.last_update_time_ms = now;
        Ok(())
    }
}

fn article(kind: &str) -> String {
    match kind {
        "expectation" => "an expectation".to_owned(),
        other => other.to_owned(),
    }
}

/// An assessment's name: required, at most 250 characters (the reference's column).
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::missing_parameter("assessment.assessment_name"));
    }
    if name.chars().count() > 250 {
        return Err(Error::invalid(
            "Assessment names must be at most 250 characters long.",
        ));
    }
    Ok(())
}

pub fn assessment_not_found(trace_id: &str, assessment_id: &str) -> Error {
    Error::not_found(format!(
        "Assessment with ID '{assessment_id}' not found for trace '{trace_id}'."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feedback(value: Value) -> Assessment {
        Assessment {
            assessment_id: "a-1".into(),
            trace_id: TraceId::from_otel([1; 16]),
            name: "correct".into(),
            span_id: None,
            source_type: SourceType::LlmJudge,
            source_id: "gpt".into(),
            create_time_ms: 1,
            last_update_time_ms: 1,
            value: AssessmentValue::Feedback {
                value: Some(value),
                error: None,
            },
            rationale: Some("because".into()),
            metadata: BTreeMap::from([("a".into(), "1".into())]),
            overrides: None,
            valid: true,
        }
    }

    #[test]
    fn updates_merge_metadata_and_keep_the_kind() {
        let mut a = feedback(json!(true));
        assert_eq!(a.value.numeric(), Some(1.0));
        a.apply(
            AssessmentUpdate {
                name: Some("relevant".into()),
                value: Some(AssessmentValue::Feedback {
                    value: Some(json!(0.25)),
                    error: None,
                }),
                rationale: Some(String::new()),
                metadata: Some(BTreeMap::from([("b".into(), "2".into())])),
            },
            9,
        )
        .expect("update");
        assert_eq!(a.name, "relevant");
        assert_eq!(a.value.numeric(), Some(0.25));
        assert_eq!(a.rationale, None);
        assert_eq!(a.metadata.len(), 2);
        assert_eq!(a.last_update_time_ms, 9);

        let err = a
            .apply(
                AssessmentUpdate {
                    value: Some(AssessmentValue::Expectation { value: json!("x") }),
                    ..Default::default()
                },
                10,
            )
            .expect_err("feedback stays feedback");
        assert!(err.message.contains("an expectation"), "{}", err.message);
        assert!(
            a.apply(
                AssessmentUpdate {
                    name: Some(String::new()),
                    ..Default::default()
                },
                11
            )
            .is_err()
        );
    }

    #[test]
    fn source_types_parse_names_and_numbers() {
        assert_eq!(SourceType::parse("HUMAN").expect("name"), SourceType::Human);
        assert_eq!(
            SourceType::parse("2").expect("number"),
            SourceType::LlmJudge
        );
        assert!(SourceType::parse("ROBOT").is_err());
        assert_eq!(
            AssessmentValue::Expectation { value: json!("x") }.numeric(),
            None
        );
    }
}

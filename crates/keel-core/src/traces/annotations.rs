//! What is done to a trace after it is logged: tags, deletion, links to runs and prompts, and
//! assessments, with the reference's validation.

use std::collections::HashMap;

use super::assessments::{Assessment, AssessmentUpdate, assessment_not_found, validate_name};
use super::entities::TraceId;
use super::info::trace_tags;
use super::service::{Traces, parse_trace_id, trace_not_found};
use super::store::TraceDeletion;
use crate::error::{Error, Result};
use crate::tracking::required;

/// Tags only the server writes.
const RESERVED_TAGS: [&str; 3] = [
    trace_tags::SPANS_LOCATION,
    "mlflow.trace.archiveLocation",
    "mlflow.trace.archivalFailure",
];
/// Longest trace tag key and value (the reference truncates longer values).
const MAX_TAG_KEY: usize = 250;
const MAX_TAG_VALUE: usize = 8000;
/// Most traces one `link-to-run` request may name.
pub const MAX_TRACES_PER_LINK: usize = 100;

impl Traces {
    /// The stored trace's ID, or not found (a malformed ID names no trace).
    async fn existing(&self, trace_id: &str) -> Result<TraceId> {
        required("trace_id", trace_id)?;
        let id = parse_trace_id(trace_id)?;
        self.store()
            .get_trace_info(&id)
            .await?
            .ok_or_else(|| trace_not_found(trace_id))?;
        Ok(id)
    }

    pub async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> Result<()> {
        required("key", key)?;
        if RESERVED_TAGS.contains(&key) {
            return Err(Error::invalid(format!(
                "Setting the tag '{key}' is not allowed: the server maintains it."
            )));
        }
        if key.chars().count() > MAX_TAG_KEY {
            return Err(Error::invalid(format!(
                "Trace tag keys must be at most {MAX_TAG_KEY} characters long."
            )));
        }
        let value: String = value.chars().take(MAX_TAG_VALUE).collect();
        let id = parse_trace_id(trace_id)?;
        self.store().set_trace_tag(&id, key, &value).await
    }

    pub async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> Result<()> {
        required("key", key)?;
        if RESERVED_TAGS[..2].contains(&key) {
            return Err(Error::invalid(format!(
                "Deleting the tag '{key}' is not allowed: the server maintains it."
            )));
        }
        let id = parse_trace_id(trace_id)?;
        self.store().delete_trace_tag(&id, key).await
    }

    /// Deletes the named traces of the experiment, or its traces logged at or before
    /// `max_timestamp_ms` (oldest first, at most `max_traces`); returns how many went.
    pub async fn delete_traces(
        &self,
        experiment_id: &str,
        max_timestamp_ms: Option<i64>,
        max_traces: Option<i64>,
        trace_ids: &[String],
    ) -> Result<u64> {
        required("experiment_id", experiment_id)?;
        if max_timestamp_ms.is_none() && trace_ids.is_empty() {
            return Err(Error::invalid(
                "Either `max_timestamp_millis` or `trace_ids` must be specified.",
            ));
        }
        if max_timestamp_ms.is_some() && !trace_ids.is_empty() {
            return Err(Error::invalid(
                "Only one of `max_timestamp_millis` and `request_ids` can be specified.",
            ));
        }
        let max_traces = match max_traces {
            Some(n) if n <= 0 => {
                return Err(Error::invalid(format!(
                    "`max_traces` must be a positive integer, got {n}."
                )));
            }
            n => n.map(|n| n.unsigned_abs()),
        };
        self.tracking().get_experiment(experiment_id).await?;
        // A malformed ID names no stored trace; it is skipped, like an unknown one.
        let ids: Vec<TraceId> = trace_ids
            .iter()
            .filter_map(|id| TraceId::parse(id).ok())
            .collect();
        if !trace_ids.is_empty() && ids.is_empty() {
            return Ok(0);
        }
        self.store()
            .delete_traces(
                experiment_id,
                &TraceDeletion {
                    trace_ids: ids,
                    max_timestamp_ms,
                    max_traces,
                },
            )
            .await
    }

    pub async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> Result<()> {
        // The reference names `trace_ids` first.
        if trace_ids.is_empty() {
            return Err(Error::missing_parameter("trace_ids"));
        }
        required("run_id", run_id)?;
        if trace_ids.len() > MAX_TRACES_PER_LINK {
            return Err(Error::invalid(format!(
                "Cannot link more than {MAX_TRACES_PER_LINK} traces to a run in a single \
                 request. Provided {} traces.",
                trace_ids.len()
            )));
        }
        self.tracking().get_run(run_id).await?;
        let ids = trace_ids
            .iter()
            .map(|id| parse_trace_id(id))
            .collect::<Result<Vec<_>>>()?;
        self.store().link_traces_to_run(&ids, run_id).await
    }

    pub async fn link_prompts_to_trace(
        &self,
        trace_id: &str,
        prompts: &[(String, String)],
    ) -> Result<()> {
        if prompts.is_empty() {
            return Err(Error::missing_parameter("prompt_versions"));
        }
        for (name, version) in prompts {
            required("prompt_versions.name", name)?;
            required("prompt_versions.version", version)?;
        }
        let id = self.existing(trace_id).await?;
        self.store().link_prompts_to_trace(&id, prompts).await
    }

    /// Stores a new assessment of the trace: the server names it (`a-<hex>`) and stamps its
    /// times when the client did not.
    pub async fn create_assessment(&self, mut assessment: Assessment) -> Result<Assessment> {
        validate_name(&assessment.name)?;
        if assessment.source_id.is_empty() {
            return Err(Error::missing_parameter("assessment.source.source_id"));
        }
        let now = self.now();
        if assessment.assessment_id.is_empty() {
            assessment.assessment_id = format!("a-{}", crate::names::new_uuid());
        }
        if assessment.create_time_ms == 0 {
            assessment.create_time_ms = now;
        }
        if assessment.last_update_time_ms == 0 {
            assessment.last_update_time_ms = assessment.create_time_ms;
        }
        assessment.valid = true;
        self.store().create_assessment(&assessment).await?;
        Ok(assessment)
    }

    pub async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> Result<Assessment> {
        required("assessment_id", assessment_id)?;
        let id = parse_trace_id(trace_id)?;
        self.store()
            .get_assessment(&id, assessment_id)
            .await?
            .ok_or_else(|| assessment_not_found(trace_id, assessment_id))
    }

    pub async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> Result<Assessment> {
        let mut assessment = self.get_assessment(trace_id, assessment_id).await?;
        assessment.apply(update, self.now())?;
        self.store().update_assessment(&assessment).await?;
        Ok(assessment)
    }

    /// Deletes an assessment; deleting one that does not exist succeeds, as in the reference.
    pub async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> Result<()> {
        required("assessment_id", assessment_id)?;
        let id = self.existing(trace_id).await?;
        self.store().delete_assessment(&id, assessment_id).await?;
        Ok(())
    }

    /// The assessments of the traces, by trace.
    pub async fn assessments_of(
        &self,
        trace_ids: &[TraceId],
    ) -> Result<HashMap<TraceId, Vec<Assessment>>> {
        let mut by_trace: HashMap<TraceId, Vec<Assessment>> = HashMap::new();
        if trace_ids.is_empty() {
            return Ok(by_trace);
        }
        for a in self.store().list_assessments(trace_ids).await? {
            by_trace.entry(a.trace_id.clone()).or_default().push(a);
        }
        Ok(by_trace)
    }
}

//! Trace retention: finding and purging traces older than an age (`keel gc --traces-older-than`).

use super::entities::TraceId;
use super::service::Traces;
use crate::error::{Error, Result};

impl Traces {
    /// Up to `limit` traces requested more than `age_ms` before now, oldest first, with their
    /// artifact location.
    pub async fn traces_older_than(
        &self,
        age_ms: i64,
        limit: u64,
    ) -> Result<Vec<(TraceId, Option<String>)>> {
        if age_ms < 0 {
            return Err(Error::invalid(
                "The age of traces to remove cannot be negative.",
            ));
        }
        let cutoff = self.now().saturating_sub(age_ms);
        self.store().traces_before(cutoff, limit).await
    }

    /// Deletes the traces for good, with their spans, tags, metadata, links and assessments.
    pub async fn purge_traces(&self, trace_ids: &[TraceId]) -> Result<u64> {
        if trace_ids.is_empty() {
            return Ok(0);
        }
        self.store().purge_traces(trace_ids).await
    }
}

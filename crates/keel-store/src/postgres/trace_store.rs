//! `TraceStore` for PostgreSQL: each write method is one retried transaction, each read one
//! snapshot.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::traces::metrics::{MetricQuery, MetricRow};
use keel_core::traces::{
    Assessment, CompleteTrace, SpanId, SpanOutline, TraceDeletion, TraceEndV2, TraceId, TraceInfo,
    TraceQuery, TraceSpan, TraceSpans, TraceStore,
};
use keel_filter::traces::TraceComparison;

use super::{PostgresStore, trace_edits, trace_search, trace_spans, traces};

#[async_trait]
impl TraceStore for PostgresStore {
    async fn log_spans(
        &self,
        experiment_id: &str,
        experiment_location: &str,
        batch: Vec<TraceSpans>,
    ) -> Result<()> {
        self.write(
            &(experiment_id, experiment_location, batch),
            |c, (experiment_id, location, batch)| {
                Box::pin(traces::log_spans(c, experiment_id, location, batch))
            },
        )
        .await
    }

    async fn insert_complete_traces(
        &self,
        experiment_id: &str,
        traces: Vec<CompleteTrace>,
    ) -> Result<u64> {
        self.write(&(experiment_id, traces), |c, (experiment_id, traces)| {
            Box::pin(traces::insert_complete_traces(c, experiment_id, traces))
        })
        .await
    }

    async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo> {
        self.write(&info, |c, info| Box::pin(traces::start_trace(c, info)))
            .await
    }

    async fn end_trace(&self, trace_id: &TraceId, end: TraceEndV2) -> Result<TraceInfo> {
        self.write(&(trace_id, end), |c, (id, end)| {
            Box::pin(traces::end_trace(c, id, end.clone()))
        })
        .await
    }

    async fn get_trace_info(&self, trace_id: &TraceId) -> Result<Option<TraceInfo>> {
        self.read(trace_id, |c, id| {
            Box::pin(async move { Ok(traces::load_info(c, id, false).await?.map(|(_, i)| i)) })
        })
        .await
    }

    async fn count_spans(&self, trace_id: &TraceId) -> Result<u64> {
        self.read(trace_id, |c, id| Box::pin(traces::count_spans(c, id)))
            .await
    }

    async fn get_spans(
        &self,
        trace_id: &TraceId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<TraceSpan>> {
        self.read(&(trace_id, offset, limit), |c, (id, offset, limit)| {
            Box::pin(traces::get_spans(c, id, *offset, *limit))
        })
        .await
    }

    async fn span_outlines(&self, trace_id: &TraceId) -> Result<Option<Vec<SpanOutline>>> {
        self.read(trace_id, |c, id| {
            Box::pin(trace_spans::span_outlines(c, id))
        })
        .await
    }

    async fn get_span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<TraceSpan>> {
        self.read(&(trace_id, span_id), |c, (id, span)| {
            Box::pin(trace_spans::get_span(c, id, span))
        })
        .await
    }

    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<()> {
        self.write(&(trace_id, key, value), |c, (id, key, value)| {
            Box::pin(trace_edits::set_tag(c, id, key, value))
        })
        .await
    }

    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<()> {
        self.write(&(trace_id, key), |c, (id, key)| {
            Box::pin(trace_edits::delete_tag(c, id, key))
        })
        .await
    }

    async fn delete_traces(&self, experiment_id: &str, which: &TraceDeletion) -> Result<u64> {
        self.write(&(experiment_id, which), |c, (experiment_id, which)| {
            Box::pin(trace_edits::delete_traces(c, experiment_id, which))
        })
        .await
    }

    async fn link_traces_to_run(&self, trace_ids: &[TraceId], run_id: &str) -> Result<()> {
        self.write(&(trace_ids, run_id), |c, (ids, run_id)| {
            Box::pin(trace_edits::link_to_run(c, ids, run_id))
        })
        .await
    }

    async fn link_prompts_to_trace(
        &self,
        trace_id: &TraceId,
        prompts: &[(String, String)],
    ) -> Result<()> {
        self.write(&(trace_id, prompts), |c, (id, prompts)| {
            Box::pin(trace_edits::link_prompts(c, id, prompts))
        })
        .await
    }

    async fn create_assessment(&self, assessment: &Assessment) -> Result<()> {
        self.write(assessment, |c, a| {
            Box::pin(trace_edits::create_assessment(c, a))
        })
        .await
    }

    async fn update_assessment(&self, assessment: &Assessment) -> Result<()> {
        self.write(assessment, |c, a| {
            Box::pin(trace_edits::update_assessment(c, a))
        })
        .await
    }

    async fn delete_assessment(&self, trace_id: &TraceId, assessment_id: &str) -> Result<bool> {
        self.write(&(trace_id, assessment_id), |c, (id, assessment_id)| {
            Box::pin(trace_edits::delete_assessment(c, id, assessment_id))
        })
        .await
    }

    async fn get_assessment(
        &self,
        trace_id: &TraceId,
        assessment_id: &str,
    ) -> Result<Option<Assessment>> {
        self.read(&(trace_id, assessment_id), |c, (id, assessment_id)| {
            Box::pin(trace_edits::get_assessment(c, id, assessment_id))
        })
        .await
    }

    async fn list_assessments(&self, trace_ids: &[TraceId]) -> Result<Vec<Assessment>> {
        self.read(trace_ids, |c, ids| {
            Box::pin(trace_edits::list_assessments(c, ids))
        })
        .await
    }

    async fn traces_before(
        &self,
        cutoff_ms: i64,
        limit: u64,
    ) -> Result<Vec<(TraceId, Option<String>)>> {
        self.read(&(cutoff_ms, limit), |c, (cutoff, limit)| {
            Box::pin(trace_edits::traces_before(c, *cutoff, *limit))
        })
        .await
    }

    async fn purge_traces(&self, trace_ids: &[TraceId]) -> Result<u64> {
        self.write(trace_ids, |c, ids| {
            Box::pin(trace_edits::purge_traces(c, ids))
        })
        .await
    }

    async fn search_traces(&self, query: &TraceQuery) -> Result<Vec<TraceInfo>> {
        self.read(query, |c, q| Box::pin(trace_search::search_traces(c, q)))
            .await
    }

    async fn trace_metrics(&self, query: &MetricQuery) -> Result<Vec<MetricRow>> {
        self.read(query, |c, q| Box::pin(trace_search::trace_metrics(c, q)))
            .await
    }

    async fn count_traces(
        &self,
        experiment_ids: &[String],
        filters: &[Vec<TraceComparison>],
    ) -> Result<Vec<u64>> {
        self.read(&(experiment_ids, filters), |c, (ids, filters)| {
            Box::pin(trace_search::count_traces(c, ids, filters))
        })
        .await
    }
}

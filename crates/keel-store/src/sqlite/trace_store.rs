//! `TraceStore` for SQLite: each method runs its SQL on the writer or a reader connection.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::traces::metrics::{MetricQuery, MetricRow};
use keel_core::traces::{
    Assessment, CompleteTrace, SpanId, SpanOutline, TraceDeletion, TraceEndV2, TraceId, TraceInfo,
    TraceQuery, TraceSpan, TraceSpans, TraceStore,
};
use keel_filter::traces::TraceComparison;

use super::{SqliteStore, trace_edits, trace_search, trace_spans, traces};

#[async_trait]
impl TraceStore for SqliteStore {
    async fn log_spans(
        &self,
        experiment_id: &str,
        experiment_location: &str,
        batch: Vec<TraceSpans>,
    ) -> Result<()> {
        let (experiment_id, location) = (experiment_id.to_owned(), experiment_location.to_owned());
        self.write(move |tx| traces::log_spans(tx, &experiment_id, &location, &batch))
            .await
    }

    async fn insert_complete_traces(
        &self,
        experiment_id: &str,
        traces: Vec<CompleteTrace>,
    ) -> Result<u64> {
        let experiment_id = experiment_id.to_owned();
        self.write(move |tx| traces::insert_complete_traces(tx, &experiment_id, &traces))
            .await
    }

    async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo> {
        self.write(move |tx| traces::start_trace(tx, info)).await
    }

    async fn end_trace(&self, trace_id: &TraceId, end: TraceEndV2) -> Result<TraceInfo> {
        let id = trace_id.clone();
        self.write(move |tx| traces::end_trace(tx, &id, end)).await
    }

    async fn get_trace_info(&self, trace_id: &TraceId) -> Result<Option<TraceInfo>> {
        let id = trace_id.clone();
        self.read(move |c| Ok(traces::load_info(c, &id)?.map(|(_, info)| info)))
            .await
    }

    async fn count_spans(&self, trace_id: &TraceId) -> Result<u64> {
        let id = trace_id.clone();
        self.read(move |c| traces::count_spans(c, &id)).await
    }

    async fn get_spans(
        &self,
        trace_id: &TraceId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<TraceSpan>> {
        let id = trace_id.clone();
        self.read(move |c| traces::get_spans(c, &id, offset, limit))
            .await
    }

    async fn span_outlines(&self, trace_id: &TraceId) -> Result<Option<Vec<SpanOutline>>> {
        let id = trace_id.clone();
        self.read(move |c| trace_spans::span_outlines(c, &id)).await
    }

    async fn get_span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<TraceSpan>> {
        let (id, span) = (trace_id.clone(), *span_id);
        self.read(move |c| trace_spans::get_span(c, &id, &span))
            .await
    }

    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<()> {
        let (id, key, value) = (trace_id.clone(), key.to_owned(), value.to_owned());
        self.write(move |tx| trace_edits::set_tag(tx, &id, &key, &value))
            .await
    }

    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<()> {
        let (id, key) = (trace_id.clone(), key.to_owned());
        self.write(move |tx| trace_edits::delete_tag(tx, &id, &key))
            .await
    }

    async fn delete_traces(&self, experiment_id: &str, which: &TraceDeletion) -> Result<u64> {
        let (experiment_id, which) = (experiment_id.to_owned(), which.clone());
        self.write(move |tx| trace_edits::delete_traces(tx, &experiment_id, &which))
            .await
    }

    async fn link_traces_to_run(&self, trace_ids: &[TraceId], run_id: &str) -> Result<()> {
        let (ids, run_id) = (trace_ids.to_vec(), run_id.to_owned());
        self.write(move |tx| trace_edits::link_to_run(tx, &ids, &run_id))
            .await
    }

    async fn link_prompts_to_trace(
        &self,
        trace_id: &TraceId,
        prompts: &[(String, String)],
    ) -> Result<()> {
        let (id, prompts) = (trace_id.clone(), prompts.to_vec());
        self.write(move |tx| trace_edits::link_prompts(tx, &id, &prompts))
            .await
    }

    async fn create_assessment(&self, assessment: &Assessment) -> Result<()> {
        let a = assessment.clone();
        self.write(move |tx| trace_edits::create_assessment(tx, &a))
            .await
    }

    async fn update_assessment(&self, assessment: &Assessment) -> Result<()> {
        let a = assessment.clone();
        self.write(move |tx| trace_edits::update_assessment(tx, &a))
            .await
    }

    async fn delete_assessment(&self, trace_id: &TraceId, assessment_id: &str) -> Result<bool> {
        let (id, assessment_id) = (trace_id.clone(), assessment_id.to_owned());
        self.write(move |tx| trace_edits::delete_assessment(tx, &id, &assessment_id))
            .await
    }

    async fn get_assessment(
        &self,
        trace_id: &TraceId,
        assessment_id: &str,
    ) -> Result<Option<Assessment>> {
        let (id, assessment_id) = (trace_id.clone(), assessment_id.to_owned());
        self.read(move |c| trace_edits::get_assessment(c, &id, &assessment_id))
            .await
    }

    async fn list_assessments(&self, trace_ids: &[TraceId]) -> Result<Vec<Assessment>> {
        let ids = trace_ids.to_vec();
        self.read(move |c| trace_edits::list_assessments(c, &ids))
            .await
    }

    async fn traces_before(
        &self,
        cutoff_ms: i64,
        limit: u64,
    ) -> Result<Vec<(TraceId, Option<String>)>> {
        self.read(move |c| trace_edits::traces_before(c, cutoff_ms, limit))
            .await
    }

    async fn purge_traces(&self, trace_ids: &[TraceId]) -> Result<u64> {
        let ids = trace_ids.to_vec();
        self.write(move |tx| trace_edits::purge_traces(tx, &ids))
            .await
    }

    async fn search_traces(&self, query: &TraceQuery) -> Result<Vec<TraceInfo>> {
        let query = query.clone();
        self.read(move |c| trace_search::search_traces(c, &query))
            .await
    }

    async fn trace_metrics(&self, query: &MetricQuery) -> Result<Vec<MetricRow>> {
        let query = query.clone();
        self.read(move |c| trace_search::trace_metrics(c, &query))
            .await
    }

    async fn count_traces(
        &self,
        experiment_ids: &[String],
        filters: &[Vec<TraceComparison>],
    ) -> Result<Vec<u64>> {
        let (ids, filters) = (experiment_ids.to_vec(), filters.to_vec());
        self.read(move |c| trace_search::count_traces(c, &ids, &filters))
            .await
    }
}

//! `TraceStore` for SQLite: each method runs its SQL on the writer or a reader connection.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::traces::{TraceId, TraceInfo, TraceSpan, TraceSpans, TraceStore};

use super::{SqliteStore, traces};

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

    async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo> {
        self.write(move |tx| traces::start_trace(tx, info)).await
    }

    async fn get_trace_info(&self, trace_id: &TraceId) -> Result<Option<TraceInfo>> {
        let id = *trace_id;
        self.read(move |c| Ok(traces::load_info(c, &id)?.map(|(_, info)| info)))
            .await
    }

    async fn count_spans(&self, trace_id: &TraceId) -> Result<u64> {
        let id = *trace_id;
        self.read(move |c| traces::count_spans(c, &id)).await
    }

    async fn get_spans(
        &self,
        trace_id: &TraceId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<TraceSpan>> {
        let id = *trace_id;
        self.read(move |c| traces::get_spans(c, &id, offset, limit))
            .await
    }
}

//! `TraceStore` for PostgreSQL: each write method is one retried transaction, each read one
//! snapshot.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::traces::{TraceId, TraceInfo, TraceSpan, TraceSpans, TraceStore};

use super::{PostgresStore, traces};

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

    async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo> {
        self.write(&info, |c, info| Box::pin(traces::start_trace(c, info)))
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
}

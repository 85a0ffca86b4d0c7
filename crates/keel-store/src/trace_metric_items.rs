//! One row of a trace-metrics item query (see `search_sql/trace_metrics.rs`) as the item the
//! aggregator takes, the same on both backends: token counts are read from the usage JSON and
//! assessment values from their number or their "yes"/"no".

use keel_core::traces::metrics::{self, Metric, MetricItem, MetricQuery};

pub(crate) fn metric_item(
    q: &MetricQuery,
    time_ms: i64,
    number: Option<f64>,
    text: Option<String>,
    dimensions: Vec<Option<String>>,
) -> MetricItem {
    let (value, session) = match q.metric {
        Metric::Tokens(key) => (
            text.as_deref().and_then(|u| metrics::token_count(u, key)),
            None,
        ),
        Metric::AssessmentValue => (metrics::assessment_number(number, text.as_deref()), None),
        Metric::SessionCount => (None, text),
        _ => (number, None),
    };
    MetricItem {
        time_ms,
        dimensions,
        value,
        session,
    }
}

//! Wire shapes of the trace analytics routes: `traces/metrics` and
//! `traces/calculate-filter-correlation`.

use std::collections::BTreeMap;

use keel_core::traces::metrics::{
    Aggregation, AggregationKind, MetricQuery, MetricRow, MetricView, QueryTraceMetrics,
};
use keel_core::traces::{FilterCorrelation, FilterCorrelationRequest};
use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::proto::{Stringish, opt_f64, opt_i64, opt_string};
use super::requests::need;

/// One aggregation of a metrics query: its type (name or number; COUNT when left out, as in
/// the proto) and, for PERCENTILE, the percentile.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AggregationIn {
    #[serde(default)]
    pub aggregation_type: Option<Stringish>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub percentile_value: Option<f64>,
}

/// `POST /api/3.0/mlflow/traces/metrics` (QueryTraceMetrics).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct QueryTraceMetricsIn {
    #[serde(default)]
    pub experiment_ids: Option<Vec<Stringish>>,
    #[serde(default)]
    pub view_type: Option<Stringish>,
    #[serde(default, deserialize_with = "opt_string")]
    pub metric_name: Option<String>,
    #[serde(default)]
    pub aggregations: Option<Vec<AggregationIn>>,
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub filters: Vec<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub time_interval_seconds: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_time_ms: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_time_ms: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    /// Accepted and ignored, as on the reference (every data point comes in one answer).
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
}

impl QueryTraceMetricsIn {
    /// The query, with the reference's checks of required fields in its order.
    pub fn into_domain(self) -> Result<QueryTraceMetrics> {
        let experiment_ids = need("experiment_ids", self.experiment_ids)?;
        let view = need("view_type", self.view_type)?;
        let view = MetricView::parse(&view.0).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid view_type '{}': expected TRACES, SPANS or ASSESSMENTS.",
                view.0
            ))
        })?;
        let metric_name = need("metric_name", self.metric_name.filter(|m| !m.is_empty()))?;
        let aggregations = need("aggregations", self.aggregations)?
            .into_iter()
            .map(|a| {
                let kind = match a.aggregation_type {
                    None => AggregationKind::Count,
                    Some(t) => AggregationKind::parse(&t.0).ok_or_else(|| {
                        Error::invalid(format!(
                            "Invalid aggregation_type '{}': expected one of COUNT, SUM, AVG, \
                             PERCENTILE, MIN, MAX.",
                            t.0
                        ))
                    })?,
                };
                Aggregation::new(kind, a.percentile_value)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(QueryTraceMetrics {
            experiment_ids: experiment_ids.into_iter().map(|id| id.0).collect(),
            view: Some(view),
            metric_name,
            aggregations,
            dimensions: self.dimensions,
            filters: self.filters,
            time_interval_seconds: self.time_interval_seconds,
            start_time_ms: self.start_time_ms,
            end_time_ms: self.end_time_ms,
            max_results: self.max_results,
        })
    }
}

/// One data point: the group's bucket (`time_bucket`, ISO 8601 in UTC) and dimension values,
/// and one value per aggregation, keyed by its label (`AVG`, `P95.0`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DataPointOut {
    pub metric_name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    pub values: BTreeMap<String, f64>,
}

/// The answer: every data point (groups with no value are left out, as the reference leaves
/// them); `{}` when there are none.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct QueryTraceMetricsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_points: Vec<DataPointOut>,
}

impl QueryTraceMetricsOut {
    pub fn of(query: &MetricQuery, rows: Vec<MetricRow>) -> Self {
        let labels: Vec<String> = query.aggregations.iter().map(Aggregation::label).collect();
        let data_points = rows
            .into_iter()
            .filter_map(|row| {
                let values: BTreeMap<String, f64> = labels
                    .iter()
                    .zip(row.values)
                    .filter_map(|(label, v)| Some((label.clone(), v?)))
                    .collect();
                if values.is_empty() {
                    return None;
                }
                let mut dimensions: BTreeMap<String, String> = query
                    .dimensions
                    .iter()
                    .map(|d| d.as_str().to_owned())
                    .zip(row.dimensions)
                    .collect();
                if let Some(ms) = row.bucket_ms {
                    dimensions.insert("time_bucket".into(), bucket_label(ms));
                }
                Some(DataPointOut {
                    metric_name: query.metric_name.to_owned(),
                    dimensions,
                    values,
                })
            })
            .collect();
        Self { data_points }
    }
}

/// A bucket's start as the reference writes it: `2026-12-05T06:00:00+00:00`.
fn bucket_label(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
    )
}

/// `POST /api/3.0/mlflow/traces/calculate-filter-correlation`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct FilterCorrelationIn {
    #[serde(default)]
    pub experiment_ids: Option<Vec<Stringish>>,
    #[serde(default, deserialize_with = "opt_string")]
    pub filter_string1: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub filter_string2: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub base_filter: Option<String>,
}

impl FilterCorrelationIn {
    pub fn into_domain(self) -> Result<FilterCorrelationRequest> {
        let experiment_ids = need("experiment_ids", self.experiment_ids)?;
        Ok(FilterCorrelationRequest {
            experiment_ids: experiment_ids.into_iter().map(|id| id.0).collect(),
            filter1: self.filter_string1.unwrap_or_default(),
            filter2: self.filter_string2.unwrap_or_default(),
            base_filter: self.base_filter.filter(|f| !f.is_empty()),
        })
    }
}

/// Its response: the NPMI values are left out when undefined, as the reference leaves them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FilterCorrelationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npmi: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npmi_smoothed: Option<f64>,
    pub filter1_count: u64,
    pub filter2_count: u64,
    pub joint_count: u64,
    pub total_count: u64,
}

impl From<FilterCorrelation> for FilterCorrelationOut {
    fn from(c: FilterCorrelation) -> Self {
        Self {
            npmi: c.npmi,
            npmi_smoothed: c.npmi_smoothed,
            filter1_count: c.filter1_count,
            filter2_count: c.filter2_count,
            joint_count: c.joint_count,
            total_count: c.total_count,
        }
    }
}

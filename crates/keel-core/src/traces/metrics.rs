//! Trace metrics (`traces/metrics`, the reference's `QueryTraceMetrics`): what a query asks for,
//! checked as the reference checks it — the metrics of each view with the aggregations and
//! dimensions each allows, and the filter grammar of one `<view>.<entity>[.<key>] = '<value>'`
//! comparison per entry — and how its answer is labelled. The rows themselves are grouped and
//! aggregated by the store.

use crate::error::{Error, ErrorCode, Result};

/// How many data points a query returns when it names no limit.
pub const DEFAULT_MAX_RESULTS: i64 = 1000;
/// The most dimensions and aggregations one query may ask for (a view has at most five
/// dimensions and six aggregation types; repeats are allowed, as on the reference).
const MAX_DIMENSIONS: usize = 10;
const MAX_AGGREGATIONS: usize = 20;

/// What the metrics are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricView {
    Traces,
    Spans,
    Assessments,
}

impl MetricView {
    /// The enum name or its proto number.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TRACES" | "1" => Some(Self::Traces),
            "SPANS" | "2" => Some(Self::Spans),
            "ASSESSMENTS" | "3" => Some(Self::Assessments),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "TRACES",
            Self::Spans => "SPANS",
            Self::Assessments => "ASSESSMENTS",
        }
    }

    /// The metrics of this view, in the reference's order (its error messages list them so).
    fn metrics(self) -> &'static [MetricConfig] {
        match self {
            Self::Traces => TRACE_METRICS,
            Self::Spans => SPAN_METRICS,
            Self::Assessments => ASSESSMENT_METRICS,
        }
    }
}

/// An aggregation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AggregationKind {
    Count,
    Sum,
    Avg,
    Percentile,
    Min,
    Max,
}

impl AggregationKind {
    /// The enum name or its proto number.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "COUNT" | "1" => Some(Self::Count),
            "SUM" | "2" => Some(Self::Sum),
            "AVG" | "3" => Some(Self::Avg),
            "PERCENTILE" | "4" => Some(Self::Percentile),
            "MIN" | "5" => Some(Self::Min),
            "MAX" | "6" => Some(Self::Max),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "COUNT",
            Self::Sum => "SUM",
            Self::Avg => "AVG",
            Self::Percentile => "PERCENTILE",
            Self::Min => "MIN",
            Self::Max => "MAX",
        }
    }
}

/// One aggregation of the metric's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregation {
    pub kind: AggregationKind,
    /// 0 to 100, for [`AggregationKind::Percentile`] only.
    pub percentile: Option<f64>,
}

impl Aggregation {
    /// An aggregation as the reference's `MetricAggregation` accepts it (it raises on the
    /// others, which its server answers with a 500; here they are 400s).
    pub fn new(kind: AggregationKind, percentile: Option<f64>) -> Result<Self> {
        match (kind, percentile) {
            (AggregationKind::Percentile, None) => Err(Error::invalid(
                "Percentile value is required for PERCENTILE aggregation",
            )),
            (AggregationKind::Percentile, Some(p)) if !(0.0..=100.0).contains(&p) => {
                Err(Error::invalid(format!(
                    "Percentile value must be between 0 and 100, got {}",
                    crate::pyjson::float_repr(p)
                )))
            }
            (AggregationKind::Percentile, _) | (_, None) => Ok(Self { kind, percentile }),
            (other, Some(_)) => Err(Error::invalid(format!(
                "Percentile value is only allowed for PERCENTILE aggregation type, got {}",
                other.as_str()
            ))),
        }
    }

    /// The key of its value in a data point: the kind's name, or `P<percentile>` with the
    /// percentile written as a Python float (`P50.0`, `P99.9`).
    pub fn label(&self) -> String {
        match (self.kind, self.percentile) {
            (AggregationKind::Percentile, Some(p)) => format!("P{}", crate::pyjson::float_repr(p)),
            (kind, _) => kind.as_str().to_owned(),
        }
    }
}

/// A metric: what is aggregated, per trace, span or assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    TraceCount,
    /// Distinct sessions (`mlflow.trace.session` metadata) among the traces.
    SessionCount,
    /// A trace's execution time, in milliseconds.
    TraceLatency,
    /// A count from the trace's `mlflow.trace.tokenUsage` metadata, by key.
    Tokens(&'static str),
    SpanCount,
    /// A span's duration, in whole milliseconds (truncated).
    SpanLatency,
    /// A cost from the span's `mlflow.llm.cost` attribute, by key.
    Cost(&'static str),
    AssessmentCount,
    /// An assessment's value as a number (booleans and "yes"/"no" as 1 and 0).
    AssessmentValue,
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    TraceName,
    TraceStatus,
    SpanName,
    SpanType,
    SpanStatus,
    SpanModelName,
    SpanModelProvider,
    AssessmentName,
    AssessmentValue,
}

impl Dimension {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "trace_name" => Self::TraceName,
            "trace_status" => Self::TraceStatus,
            "span_name" => Self::SpanName,
            "span_type" => Self::SpanType,
            "span_status" => Self::SpanStatus,
            "span_model_name" => Self::SpanModelName,
            "span_model_provider" => Self::SpanModelProvider,
            "assessment_name" => Self::AssessmentName,
            "assessment_value" => Self::AssessmentValue,
            _ => return None,
        })
    }

    /// The key of its value in a data point's dimensions.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TraceName => "trace_name",
            Self::TraceStatus => "trace_status",
            Self::SpanName => "span_name",
            Self::SpanType => "span_type",
            Self::SpanStatus => "span_status",
            Self::SpanModelName => "span_model_name",
            Self::SpanModelProvider => "span_model_provider",
            Self::AssessmentName => "assessment_name",
            Self::AssessmentValue => "assessment_value",
        }
    }
}

struct MetricConfig {
    name: &'static str,
    metric: Metric,
    aggregations: &'static [AggregationKind],
    dimensions: &'static [Dimension],
}

use AggregationKind as A;
use Dimension as D;

const COUNT: &[AggregationKind] = &[A::Count];
const DISTRIBUTION: &[AggregationKind] = &[A::Avg, A::Min, A::Max, A::Percentile];
const AMOUNTS: &[AggregationKind] = &[A::Sum, A::Avg, A::Min, A::Max, A::Percentile];

const fn metric(
    name: &'static str,
    metric: Metric,
    aggregations: &'static [AggregationKind],
    dimensions: &'static [Dimension],
) -> MetricConfig {
    MetricConfig {
        name,
        metric,
        aggregations,
        dimensions,
    }
}

const TRACE_METRICS: &[MetricConfig] = &[
    metric(
        "trace_count",
        Metric::TraceCount,
        COUNT,
        &[D::TraceName, D::TraceStatus],
    ),
    metric("session_count", Metric::SessionCount, COUNT, &[]),
    metric(
        "latency",
        Metric::TraceLatency,
        DISTRIBUTION,
        &[D::TraceName],
    ),
    metric(
        "input_tokens",
        Metric::Tokens("input_tokens"),
        AMOUNTS,
        &[D::TraceName],
    ),
    metric(
        "output_tokens",
        Metric::Tokens("output_tokens"),
        AMOUNTS,
        &[D::TraceName],
    ),
    metric(
        "total_tokens",
        Metric::Tokens("total_tokens"),
        AMOUNTS,
        &[D::TraceName],
    ),
    metric(
        "cache_read_input_tokens",
        Metric::Tokens("cache_read_input_tokens"),
        AMOUNTS,
        &[D::TraceName],
    ),
    metric(
        "cache_creation_input_tokens",
        Metric::Tokens("cache_creation_input_tokens"),
        AMOUNTS,
        &[D::TraceName],
    ),
];

const SPAN_METRICS: &[MetricConfig] = &[
    metric(
        "span_count",
        Metric::SpanCount,
        COUNT,
        &[
            D::SpanName,
            D::SpanType,
            D::SpanStatus,
            D::SpanModelName,
            D::SpanModelProvider,
        ],
    ),
    metric(
        "latency",
        Metric::SpanLatency,
        DISTRIBUTION,
        &[D::SpanName, D::SpanStatus],
    ),
    metric(
        "input_cost",
        Metric::Cost("input_cost"),
        AMOUNTS,
        &[D::SpanModelName, D::SpanModelProvider],
    ),
    metric(
        "output_cost",
        Metric::Cost("output_cost"),
        AMOUNTS,
        &[D::SpanModelName, D::SpanModelProvider],
    ),
    metric(
        "total_cost",
        Metric::Cost("total_cost"),
        AMOUNTS,
        &[D::SpanModelName, D::SpanModelProvider],
    ),
];

const ASSESSMENT_METRICS: &[MetricConfig] = &[
    metric(
        "assessment_count",
        Metric::AssessmentCount,
        COUNT,
        &[D::AssessmentName, D::AssessmentValue],
    ),
    metric(
        "assessment_value",
        Metric::AssessmentValue,
        DISTRIBUTION,
        &[D::AssessmentName],
    ),
];

/// A comparison of a `filters` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricFilter {
    TraceStatus(String),
    TraceTag { key: String, value: String },
    TraceMetadata { key: String, value: String },
    SpanName(String),
    SpanStatus(String),
    SpanType(String),
    AssessmentName(String),
    AssessmentType(String),
}

/// A query as a client sends it (names still to check).
#[derive(Debug, Clone, Default)]
pub struct QueryTraceMetrics {
    pub experiment_ids: Vec<String>,
    pub view: Option<MetricView>,
    pub metric_name: String,
    pub aggregations: Vec<Aggregation>,
    pub dimensions: Vec<String>,
    pub filters: Vec<String>,
    pub time_interval_seconds: Option<i64>,
    pub start_time_ms: Option<i64>,
    pub end_time_ms: Option<i64>,
    pub max_results: Option<i64>,
}

/// A checked query, as a store evaluates it: the rows of the view in the experiments (each
/// filter and the time range applied), grouped by time bucket then by the dimensions in order,
/// each group aggregated; groups ordered by their keys, `limit` at most.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub experiment_ids: Vec<String>,
    pub view: MetricView,
    pub metric_name: &'static str,
    pub metric: Metric,
    pub aggregations: Vec<Aggregation>,
    pub dimensions: Vec<Dimension>,
    pub filters: Vec<MetricFilter>,
    /// Bucket width in milliseconds, buckets aligned to the Unix epoch.
    pub bucket_ms: Option<i64>,
    /// Inclusive bounds on the trace's time (a span cost's own start time).
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Negative: no limit (as the reference's SQLite reads `LIMIT -1`).
    pub limit: i64,
}

/// The values of one aggregation per group the store found.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The bucket's start, in milliseconds, when the query has buckets.
    pub bucket_ms: Option<i64>,
    /// One value per dimension of the query, in its order.
    pub dimensions: Vec<String>,
    /// One value per aggregation of the query (`None` when it has none, e.g. an average of
    /// nothing).
    pub values: Vec<Option<f64>>,
}

fn sorted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut items: Vec<&str> = items.into_iter().collect();
    items.sort_unstable();
    items.dedup();
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

impl QueryTraceMetrics {
    /// Checks the query in the reference's order: the metric for the view, its aggregations
    /// and dimensions, the time range for buckets, the experiment IDs and the filters.
    pub fn check(self) -> Result<MetricQuery> {
        let view = self
            .view
            .ok_or_else(|| Error::missing_parameter("view_type"))?;
        // Bounds the SQL a request can make Keel write (the reference has none).
        for (field, given, most) in [
            (
                "filters",
                self.filters.len(),
                crate::validation::MAX_FILTER_CLAUSES,
            ),
            ("dimensions", self.dimensions.len(), MAX_DIMENSIONS),
            ("aggregations", self.aggregations.len(), MAX_AGGREGATIONS),
        ] {
            if given > most {
                return Err(Error::invalid(format!(
                    "A trace metrics query can have at most {most} {field}, got {given}."
                )));
            }
        }
        let configs = view.metrics();
        let config = configs
            .iter()
            .find(|c| c.name == self.metric_name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "metric_name must be one of [{}], got '{}'",
                    configs
                        .iter()
                        .map(|c| format!("'{}'", c.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.metric_name
                ))
            })?;
        let bad_aggregations: Vec<&str> = self
            .aggregations
            .iter()
            .filter(|a| !config.aggregations.contains(&a.kind))
            .map(|a| a.kind.as_str())
            .collect();
        if !bad_aggregations.is_empty() {
            return Err(Error::invalid(format!(
                "Found invalid aggregation_type(s): {}. Supported aggregation types: {}",
                sorted_list(bad_aggregations),
                sorted_list(config.aggregations.iter().map(|a| a.as_str()))
            )));
        }
        let mut dimensions = Vec::with_capacity(self.dimensions.len());
        let mut bad_dimensions = Vec::new();
        for name in &self.dimensions {
            match Dimension::parse(name).filter(|d| config.dimensions.contains(d)) {
                Some(d) => dimensions.push(d),
                None => bad_dimensions.push(name.as_str()),
            }
        }
        if !bad_dimensions.is_empty() {
            return Err(Error::invalid(format!(
                "Found invalid dimension(s): {}. Supported dimensions: {}",
                sorted_list(bad_dimensions),
                sorted_list(config.dimensions.iter().map(|d| d.as_str()))
            )));
        }
        let bucket_seconds = self.time_interval_seconds.filter(|s| *s != 0);
        if bucket_seconds.is_some() && (self.start_time_ms.is_none() || self.end_time_ms.is_none())
        {
            return Err(Error::invalid(
                "start_time_ms and end_time_ms are required if time_interval_seconds is set",
            ));
        }
        super::search::check_experiment_ids(&self.experiment_ids)?;
        let filters = self
            .filters
            .iter()
            .map(|f| parse_filter(f, view))
            .collect::<Result<Vec<_>>>()?;
        if self.aggregations.is_empty() && dimensions.is_empty() && bucket_seconds.is_none() {
            return Err(Error::new(
                ErrorCode::BadRequest,
                "Query contains no columns with which to SELECT from.",
            ));
        }
        let bucket_ms = match bucket_seconds {
            Some(s) => Some(s.checked_mul(1000).ok_or_else(|| {
                Error::invalid(format!("time_interval_seconds is too large: {s}"))
            })?),
            None => None,
        };
        Ok(MetricQuery {
            experiment_ids: self.experiment_ids,
            view,
            metric_name: config.name,
            metric: config.metric,
            aggregations: dedup_labels(self.aggregations),
            dimensions,
            filters,
            bucket_ms,
            start_ms: self.start_time_ms,
            end_ms: self.end_time_ms,
            limit: self.max_results.unwrap_or(DEFAULT_MAX_RESULTS),
        })
    }
}

/// Aggregations with the same label give one value (the reference's map keeps one).
fn dedup_labels(aggregations: Vec<Aggregation>) -> Vec<Aggregation> {
    let mut seen = std::collections::HashSet::new();
    aggregations
        .into_iter()
        .filter(|a| seen.insert(a.label()))
        .collect()
}

/// The linear-interpolation percentile (`p` in 0..=100) of `sorted` values, computed as the
/// reference's SQLite aggregate computes it (`lo + frac * (hi - lo)`), so results match to the
/// bit; `None` for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    let last = n.checked_sub(1)?;
    let index = p / 100.0 * last as f64;
    let lo = (index as usize).min(last);
    let hi = (lo + 1).min(last);
    let frac = index - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// One trace, span or assessment a store read for a query: its time (the trace's request time,
/// or a span's start, in milliseconds), its dimension values in the query's order, and what the
/// metric reads from it: a number, or for `session_count` the session.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricItem {
    pub time_ms: i64,
    pub dimensions: Vec<Option<String>>,
    pub value: Option<f64>,
    pub session: Option<String>,
}

impl MetricItem {
    /// The item of a row a store read for `q`: its time, a number, the text the metric reads
    /// (token usage JSON, a session, an assessment's JSON value) and its dimensions.
    pub fn from_row(
        q: &MetricQuery,
        time_ms: i64,
        number: Option<f64>,
        text: Option<String>,
        dimensions: Vec<Option<String>>,
    ) -> Self {
        let (value, session) = match q.metric {
            Metric::Tokens(key) => (text.as_deref().and_then(|u| token_count(u, key)), None),
            Metric::AssessmentValue => (assessment_number(number, text.as_deref()), None),
            Metric::SessionCount => (None, text),
            _ => (number, None),
        };
        Self {
            time_ms,
            dimensions,
            value,
            session,
        }
    }
}

/// Running figures of one group.
#[derive(Debug, Default)]
struct Group {
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    /// Kept only when a percentile is asked for.
    values: Vec<f64>,
    sessions: std::collections::HashSet<String>,
}

/// Groups and aggregates the items of a query as the reference's SQL does: an item with a
/// missing dimension, or without the value the metric reads, is left out; groups are ordered by
/// bucket, then by their dimension values (bytewise); `limit` groups at most.
#[derive(Debug)]
pub struct Aggregator<'q> {
    query: &'q MetricQuery,
    groups: std::collections::HashMap<(Option<i64>, Vec<String>), Group>,
    keep_values: bool,
}

impl<'q> Aggregator<'q> {
    pub fn new(query: &'q MetricQuery) -> Self {
        Self {
            query,
            groups: std::collections::HashMap::new(),
            keep_values: query
                .aggregations
                .iter()
                .any(|a| a.kind == AggregationKind::Percentile),
        }
    }

    pub fn push(&mut self, item: MetricItem) {
        let Some(dimensions) = item.dimensions.into_iter().collect::<Option<Vec<String>>>() else {
            return;
        };
        let counted = matches!(
            self.query.metric,
            Metric::TraceCount | Metric::SpanCount | Metric::AssessmentCount
        );
        let value = match self.query.metric {
            _ if counted => None,
            Metric::SessionCount if item.session.is_none() => return,
            Metric::SessionCount => None,
            _ => match item.value.filter(|v| v.is_finite()) {
                Some(v) => Some(v),
                None => return,
            },
        };
        let bucket = self
            .query
            .bucket_ms
            .map(|width| floor_div(item.time_ms, width).saturating_mul(width));
        let group = self.groups.entry((bucket, dimensions)).or_default();
        group.count += 1;
        if let Some(session) = item.session {
            group.sessions.insert(session);
        }
        if let Some(v) = value {
            group.sum += v;
            group.min = Some(group.min.map_or(v, |m| m.min(v)));
            group.max = Some(group.max.map_or(v, |m| m.max(v)));
            if self.keep_values {
                group.values.push(v);
            }
        }
    }

    pub fn finish(mut self) -> Vec<MetricRow> {
        let mut groups: Vec<_> = std::mem::take(&mut self.groups).into_iter().collect();
        // One aggregate over nothing when nothing groups the items (a COUNT of 0).
        if groups.is_empty() && self.query.bucket_ms.is_none() && self.query.dimensions.is_empty() {
            groups.push(((None, Vec::new()), Group::default()));
        }
        groups.sort_by(|(a, _), (b, _)| a.cmp(b));
        let limit = usize::try_from(self.query.limit).unwrap_or(usize::MAX);
        groups
            .into_iter()
            .take(limit)
            .map(|((bucket_ms, dimensions), mut group)| {
                group.values.sort_by(f64::total_cmp);
                let values = self
                    .query
                    .aggregations
                    .iter()
                    .map(|a| self.value_of(a, &group))
                    .collect();
                MetricRow {
                    bucket_ms,
                    dimensions,
                    values,
                }
            })
            .collect()
    }

    fn value_of(&self, aggregation: &Aggregation, g: &Group) -> Option<f64> {
        let any = g.count > 0;
        match aggregation.kind {
            AggregationKind::Count if self.query.metric == Metric::SessionCount => {
                Some(g.sessions.len() as f64)
            }
            AggregationKind::Count => Some(g.count as f64),
            AggregationKind::Sum => any.then_some(g.sum),
            AggregationKind::Avg => any.then(|| g.sum / g.count as f64),
            AggregationKind::Min => g.min,
            AggregationKind::Max => g.max,
            AggregationKind::Percentile => {
                percentile(&g.values, aggregation.percentile.unwrap_or(50.0))
            }
        }
    }
}

/// `floor(a / b)` for any signs (a negative bucket width rounds up, as the reference's does).
fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// A token count from a trace's `mlflow.trace.tokenUsage` metadata (a JSON object): an integral
/// number (or a string of one), else nothing.
fn token_count(usage: &str, key: &str) -> Option<f64> {
    let usage: serde_json::Value = serde_json::from_str(usage).ok()?;
    let n = match usage.get(key)? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 9.2e18).then_some(n)
}

/// An assessment's value as a number: the stored number (booleans are 1 and 0), or 1 and 0 for
/// the strings "yes" and "no" (any case, spaces trimmed).
fn assessment_number(numeric: Option<f64>, json: Option<&str>) -> Option<f64> {
    if numeric.is_some() {
        return numeric.filter(|v| v.is_finite());
    }
    match serde_json::from_str::<serde_json::Value>(json?).ok()? {
        serde_json::Value::String(s) => match s.trim().to_lowercase().as_str() {
            "yes" => Some(1.0),
            "no" => Some(0.0),
            _ => None,
        },
        _ => None,
    }
}

impl super::service::Traces {
    /// A trace-metrics query: checked, then evaluated by the store in one read. Returns the
    /// checked query (its labels name the values) with the rows.
    pub async fn query_metrics(
        &self,
        req: QueryTraceMetrics,
    ) -> Result<(MetricQuery, Vec<MetricRow>)> {
        let query = req.check()?;
        let rows = self.store().trace_metrics(&query).await?;
        Ok((query, rows))
    }
}

/// One `filters` entry: exactly one `<view>.<entity>[.<key>] = '<value>'` comparison (the value
/// in single or double quotes, taken as written), for an entity of the query's view.
pub fn parse_filter(filter: &str, view: MetricView) -> Result<MetricFilter> {
    let one_clause = || {
        Error::invalid(format!(
            "Invalid filter: '{filter}'. Expected one filter clause."
        ))
    };
    let text = filter.trim();
    if text.is_empty() {
        return Err(one_clause());
    }
    let (identifier, rest) = split_identifier(text);
    let rest = rest.trim_start();
    let (op, rest) = split_comparator(rest);
    if op.is_empty() {
        return Err(one_clause());
    }
    if op != "=" {
        return Err(Error::invalid(format!(
            "Invalid comparator: '{op}', only '=' operator is supported"
        )));
    }
    let rest = rest.trim_start();
    // A quoted value, or (for the error) the bare word written instead.
    let (value, bare, rest) = match split_value(rest) {
        (Some(value), rest) => (Some(value), "", rest),
        (None, rest) => {
            let word = rest.split_whitespace().next().unwrap_or_default();
            (None, word, &rest[word.len()..])
        }
    };
    if !rest.trim().is_empty() {
        return Err(one_clause());
    }
    let Some((view_name, remainder)) = identifier.split_once('.') else {
        return Err(Error::invalid(format!(
            "Invalid identifier '{identifier}'. Columns should be specified as 'trace.<key>', \
             'span.<key>', 'assessment.<key>'."
        )));
    };
    let view_name = view_name.trim_matches('`');
    let (entity, key) = match remainder.split_once('.') {
        Some((entity, key)) => (entity, Some(unquote_key(key))),
        None => (remainder, None),
    };
    let Some(value) = value else {
        let raw = bare;
        return Err(if raw.parse::<f64>().is_ok() {
            Error::invalid(format!(
                "Expected a quoted string value for {entity} value (e.g. 'my-value'). Got value {raw}"
            ))
        } else {
            Error::invalid(format!(
                "Parameter value is either not quoted or unidentified quote types used for \
                 string value {raw}. Use either single or double quotes."
            ))
        });
    };
    let (entities, filter_view): (&[&str], MetricView) = match view_name {
        "trace" => (&["status", "tag", "metadata"], MetricView::Traces),
        "span" => (&["name", "status", "type"], MetricView::Spans),
        "assessment" => (&["name", "type"], MetricView::Assessments),
        other => {
            return Err(Error::invalid(format!(
                "Invalid view type '{other}'. Valid values are dict_keys(['trace', 'span', \
                 'assessment'])"
            )));
        }
    };
    if !entities.contains(&entity) {
        return Err(Error::invalid(format!(
            "Invalid entity '{entity}' specified for view type '{view_name}'. Valid entities are [{}]",
            entities
                .iter()
                .map(|e| format!("'{e}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let keyed = matches!(entity, "tag" | "metadata") && view_name == "trace";
    match (keyed, &key) {
        (true, None) => {
            return Err(Error::invalid(format!(
                "Filtering by {entity} requires a key, e.g. '{view_name}.{entity}.<key> = <value>'"
            )));
        }
        (false, Some(_)) => {
            return Err(Error::invalid(format!(
                "Filtering by {entity} does not require a key, use '{view_name}.{entity}' instead"
            )));
        }
        _ => {}
    }
    if filter_view != MetricView::Traces && filter_view != view {
        return Err(Error::invalid(format!(
            "Filtering by {view_name} is only supported for {} view type, got {}",
            filter_view.as_str(),
            view.as_str()
        )));
    }
    let key = key.unwrap_or_default();
    Ok(match (view_name, entity) {
        ("trace", "status") => MetricFilter::TraceStatus(value),
        ("trace", "tag") => MetricFilter::TraceTag { key, value },
        ("trace", _) => MetricFilter::TraceMetadata { key, value },
        ("span", "name") => MetricFilter::SpanName(value),
        ("span", "status") => MetricFilter::SpanStatus(value),
        ("span", _) => MetricFilter::SpanType(value),
        ("assessment", "name") => MetricFilter::AssessmentName(value),
        _ => MetricFilter::AssessmentType(value),
    })
}

/// The identifier at the start of `text` (backticked or quoted parts kept) and the rest.
fn split_identifier(text: &str) -> (&str, &str) {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '`' | '"' | '\'') if i > 0 && text[..i].ends_with('.') => quote = Some(c),
            (None, '`') => quote = Some('`'),
            (None, c) if c.is_whitespace() || "=!<>".contains(c) => return text.split_at(i),
            _ => {}
        }
    }
    (text, "")
}

/// The comparator at the start of `text` (a symbol, or a word such as `LIKE`) and the rest.
fn split_comparator(text: &str) -> (&str, &str) {
    let symbol = text
        .char_indices()
        .find(|(_, c)| !"=!<>".contains(*c))
        .map_or(text.len(), |(i, _)| i);
    if symbol > 0 {
        return text.split_at(symbol);
    }
    let word = text
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(text.len(), |(i, _)| i);
    text.split_at(word)
}

/// A quoted value at the start of `text` (without its quotes) and the rest; `None` when the
/// value is not quoted.
fn split_value(text: &str) -> (Option<String>, &str) {
    let Some(quote) = text.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return (None, text);
    };
    match text[1..].find(quote) {
        Some(end) => (Some(text[1..=end].to_owned()), &text[end + 2..]),
        None => (None, text),
    }
}

/// A key without its surrounding quotes or backticks.
fn unquote_key(key: &str) -> String {
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    key.trim_matches('`').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(view: MetricView, metric: &str, aggregations: &[Aggregation]) -> QueryTraceMetrics {
        QueryTraceMetrics {
            experiment_ids: vec!["1".into()],
            view: Some(view),
            metric_name: metric.into(),
            aggregations: aggregations.to_vec(),
            ..Default::default()
        }
    }

    fn agg(kind: AggregationKind) -> Aggregation {
        Aggregation::new(kind, None).expect("valid")
    }

    fn message(r: Result<MetricQuery>) -> String {
        r.expect_err("refused").message
    }

    #[test]
    fn labels_are_the_references() {
        assert_eq!(agg(A::Count).label(), "COUNT");
        for (p, label) in [
            (50.0, "P50.0"),
            (99.9, "P99.9"),
            (0.0, "P0.0"),
            (100.0, "P100.0"),
            (33.333, "P33.333"),
            (0.00001, "P1e-05"),
        ] {
            let a = Aggregation::new(A::Percentile, Some(p)).expect("valid");
            assert_eq!(a.label(), label);
        }
        assert_eq!(
            Aggregation::new(A::Percentile, Some(101.0))
                .expect_err("out of range")
                .message,
            "Percentile value must be between 0 and 100, got 101.0"
        );
        assert!(Aggregation::new(A::Percentile, None).is_err());
        assert_eq!(
            Aggregation::new(A::Avg, Some(5.0))
                .expect_err("not a percentile")
                .message,
            "Percentile value is only allowed for PERCENTILE aggregation type, got AVG"
        );
    }

    #[test]
    fn percentiles_interpolate_as_the_reference() {
        let latencies = [30.0, 54.0, 60.0, 62.0];
        for (p, want) in [
            (50.0, 57.0),
            (90.0, 61.4),
            (99.9, 61.994),
            (33.333, 53.999759999999995),
            (0.0, 30.0),
            (100.0, 62.0),
        ] {
            assert_eq!(percentile(&latencies, p), Some(want), "P{p}");
        }
        assert_eq!(percentile(&[0.4, 0.8], 50.0), Some(0.6000000000000001));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn metrics_aggregations_and_dimensions_are_checked_per_view() {
        assert_eq!(
            message(query(MetricView::Spans, "trace_count", &[agg(A::Count)]).check()),
            "metric_name must be one of ['span_count', 'latency', 'input_cost', 'output_cost', \
             'total_cost'], got 'trace_count'"
        );
        assert_eq!(
            message(query(MetricView::Traces, "latency", &[agg(A::Count), agg(A::Sum)]).check()),
            "Found invalid aggregation_type(s): ['COUNT', 'SUM']. Supported aggregation types: \
             ['AVG', 'MAX', 'MIN', 'PERCENTILE']"
        );
        let mut q = query(MetricView::Traces, "latency", &[agg(A::Avg)]);
        q.dimensions = vec!["trace_status".into(), "foo".into()];
        assert_eq!(
            message(q.check()),
            "Found invalid dimension(s): ['foo', 'trace_status']. Supported dimensions: \
             ['trace_name']"
        );
        let mut q = query(MetricView::Traces, "trace_count", &[agg(A::Count)]);
        q.time_interval_seconds = Some(60);
        assert_eq!(
            message(q.check()),
            "start_time_ms and end_time_ms are required if time_interval_seconds is set"
        );
        let mut q = query(MetricView::Traces, "trace_count", &[agg(A::Count)]);
        q.experiment_ids = vec!["abc".into()];
        assert!(message(q.check()).contains("Invalid experiment ID 'abc'"));
        let mut q = query(MetricView::Traces, "trace_count", &[agg(A::Count)]);
        q.filters = vec!["trace.status = 'OK'".into(); 1000];
        assert!(message(q.check()).contains("at most"));
        let e = query(MetricView::Traces, "trace_count", &[])
            .check()
            .expect_err("nothing to select");
        assert_eq!(e.code, ErrorCode::BadRequest);

        let mut q = query(
            MetricView::Spans,
            "latency",
            &[
                agg(A::Avg),
                agg(A::Avg),
                Aggregation::new(A::Percentile, Some(50.0)).expect("p"),
            ],
        );
        q.dimensions = vec!["span_name".into()];
        q.time_interval_seconds = Some(3600);
        (q.start_time_ms, q.end_time_ms) = (Some(0), Some(10));
        let checked = q.check().expect("valid");
        assert_eq!(checked.metric, Metric::SpanLatency);
        assert_eq!(checked.aggregations.len(), 2, "duplicate labels collapse");
        assert_eq!(checked.bucket_ms, Some(3_600_000));
        assert_eq!(checked.limit, DEFAULT_MAX_RESULTS);
    }

    fn item(time_ms: i64, dims: &[&str], value: Option<f64>) -> MetricItem {
        MetricItem {
            time_ms,
            dimensions: dims.iter().map(|d| Some((*d).to_owned())).collect(),
            value,
            session: None,
        }
    }

    #[test]
    fn items_group_by_bucket_then_dimensions_in_order() {
        let mut q = query(
            MetricView::Traces,
            "latency",
            &[
                agg(A::Avg),
                agg(A::Min),
                agg(A::Max),
                Aggregation::new(A::Percentile, Some(50.0)).expect("p"),
            ],
        );
        q.dimensions = vec!["trace_name".into()];
        q.time_interval_seconds = Some(60);
        (q.start_time_ms, q.end_time_ms) = (Some(0), Some(1));
        let checked = q.check().expect("valid");
        let mut agg = Aggregator::new(&checked);
        for i in [
            item(61_000, &["search"], Some(62.0)),
            item(59_000, &["chat"], Some(54.0)),
            item(1_000, &["chat"], Some(30.0)),
            item(70_000, &["chat"], None),
            item(70_000, &["chat"], Some(60.0)),
        ] {
            agg.push(i);
        }
        let mut missing_dimension = item(0, &[], Some(1.0));
        missing_dimension.dimensions = vec![None];
        agg.push(missing_dimension);
        let rows = agg.finish();
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.bucket_ms, r.dimensions.join("/")))
            .collect();
        assert_eq!(
            keys,
            [
                (Some(0), "chat".to_owned()),
                (Some(60_000), "chat".to_owned()),
                (Some(60_000), "search".to_owned())
            ]
        );
        assert_eq!(
            rows[0].values,
            [Some(42.0), Some(30.0), Some(54.0), Some(42.0)]
        );
        assert_eq!(floor_div(55, -60), -1, "a negative width rounds up");
    }

    #[test]
    fn an_ungrouped_count_of_nothing_is_zero_and_other_aggregates_are_none() {
        let checked = query(MetricView::Traces, "trace_count", &[agg(A::Count)])
            .check()
            .expect("valid");
        let rows = Aggregator::new(&checked).finish();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values, [Some(0.0)]);
        let checked = query(MetricView::Traces, "total_tokens", &[agg(A::Sum)])
            .check()
            .expect("valid");
        assert_eq!(Aggregator::new(&checked).finish()[0].values, [None]);
        assert_eq!(
            token_count(r#"{"total_tokens": 30}"#, "total_tokens"),
            Some(30.0)
        );
        assert_eq!(
            token_count(r#"{"total_tokens": "12"}"#, "total_tokens"),
            Some(12.0)
        );
        assert_eq!(
            token_count(r#"{"total_tokens": 12.5}"#, "total_tokens"),
            None
        );
        assert_eq!(token_count("not json", "total_tokens"), None);
        assert_eq!(assessment_number(Some(0.8), Some("0.8")), Some(0.8));
        assert_eq!(assessment_number(None, Some(r#"" Yes ""#)), Some(1.0));
        assert_eq!(assessment_number(None, Some(r#""hello""#)), None);
    }

    #[test]
    fn filters_are_one_comparison_of_the_views_entities() {
        let ok = |f: &str, view| parse_filter(f, view).expect(f);
        assert_eq!(
            ok("trace.status = 'OK'", MetricView::Traces),
            MetricFilter::TraceStatus("OK".into())
        );
        assert_eq!(
            ok("trace.status=\"OK\"", MetricView::Spans),
            MetricFilter::TraceStatus("OK".into())
        );
        assert_eq!(
            ok("trace.tag.`my-key` = 'x'", MetricView::Traces),
            MetricFilter::TraceTag {
                key: "my-key".into(),
                value: "x".into()
            }
        );
        assert_eq!(
            ok(
                "trace.metadata.mlflow.trace.session = 's1'",
                MetricView::Assessments
            ),
            MetricFilter::TraceMetadata {
                key: "mlflow.trace.session".into(),
                value: "s1".into()
            }
        );
        assert_eq!(
            ok("span.type = 'LLM'", MetricView::Spans),
            MetricFilter::SpanType("LLM".into())
        );
        let err = |f: &str, view| parse_filter(f, view).expect_err(f).message;
        for (filter, want) in [
            ("", "Invalid filter: ''. Expected one filter clause."),
            (
                "status = \"x\"",
                "Invalid identifier 'status'. Columns should be specified as 'trace.<key>', 'span.<key>', 'assessment.<key>'.",
            ),
            (
                "foo.status = \"x\"",
                "Invalid view type 'foo'. Valid values are dict_keys(['trace', 'span', 'assessment'])",
            ),
            (
                "trace.name = \"x\"",
                "Invalid entity 'name' specified for view type 'trace'. Valid entities are ['status', 'tag', 'metadata']",
            ),
            (
                "trace.tag = \"x\"",
                "Filtering by tag requires a key, e.g. 'trace.tag.<key> = <value>'",
            ),
            (
                "trace.status.x = \"x\"",
                "Filtering by status does not require a key, use 'trace.status' instead",
            ),
            (
                "trace.status != \"OK\"",
                "Invalid comparator: '!=', only '=' operator is supported",
            ),
            (
                "trace.status LIKE \"OK\"",
                "Invalid comparator: 'LIKE', only '=' operator is supported",
            ),
            (
                "trace.status = OK",
                "Parameter value is either not quoted or unidentified quote types used for string value OK. Use either single or double quotes.",
            ),
            (
                "trace.status = 1",
                "Expected a quoted string value for status value (e.g. 'my-value'). Got value 1",
            ),
            (
                "span.name = \"x\"",
                "Filtering by span is only supported for SPANS view type, got TRACES",
            ),
            (
                "assessment.name = \"x\"",
                "Filtering by assessment is only supported for ASSESSMENTS view type, got TRACES",
            ),
            (
                "trace.status = \"OK\" AND trace.tag.env = \"dev\"",
                "Invalid filter: 'trace.status = \"OK\" AND trace.tag.env = \"dev\"'. Expected one filter clause.",
            ),
        ] {
            assert_eq!(err(filter, MetricView::Traces), want, "{filter}");
        }
    }
}

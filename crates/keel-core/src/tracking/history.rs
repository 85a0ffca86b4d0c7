//! Metric history: full and paginated reads, and the downsampled bulk read charts use.

use super::*;
use crate::entities::{Metric, MetricWithRunId, Page};
use crate::paging;
use crate::validation;

/// Input of `metrics/get-history`.
#[derive(Debug, Clone, Default)]
pub struct HistoryRequest {
    pub run_id: String,
    pub metric_key: String,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

/// Input of `metrics/get-history-bulk-interval`.
#[derive(Debug, Clone, Default)]
pub struct IntervalRequest {
    pub run_ids: Vec<String>,
    pub metric_key: String,
    pub start_step: Option<i64>,
    pub end_step: Option<i64>,
    pub max_results: Option<i64>,
}

/// Most runs one bulk-interval request may name.
pub const MAX_RUNS_PER_INTERVAL_REQUEST: usize = 100;
/// Default and largest number of points per run in a bulk-interval response.
pub const MAX_INTERVAL_RESULTS: i64 = 2500;

impl Tracking {
    /// All points when no `max_results` is given; otherwise one page of them.
    pub async fn metric_history(&self, req: HistoryRequest) -> Result<Page<Metric>> {
        required("metric_key", &req.metric_key)?;
        required("run_id", &req.run_id)?;
        // As the reference does, an unknown run has an empty history rather than an error.
        let offset = paging::decode(req.page_token.as_deref())?;
        let limit = match req.max_results {
            Some(max) => {
                validation::validate_max_results(max, validation::MAX_RESULTS_METRIC_HISTORY)?;
                max
            }
            None if offset == 0 => i64::MAX - 1,
            None => validation::MAX_RESULTS_METRIC_HISTORY,
        };
        let rows = self
            .store
            .metric_history(&req.run_id, &req.metric_key, offset, limit + 1)
            .await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    /// Points of one metric for several runs, downsampled per run to at most `max_results`
    /// points spread evenly over the run's history (always keeping its last point).
    pub async fn metric_history_interval(
        &self,
        req: IntervalRequest,
    ) -> Result<Vec<MetricWithRunId>> {
        required("metric_key", &req.metric_key)?;
        if req.run_ids.is_empty() {
            return Err(Error::missing_parameter("run_ids"));
        }
        if req.run_ids.len() > MAX_RUNS_PER_INTERVAL_REQUEST {
            return Err(Error::invalid(format!(
                "GetMetricHistoryBulkInterval request must specify at most \
                 {MAX_RUNS_PER_INTERVAL_REQUEST} run_ids. Received {} run_ids.",
                req.run_ids.len()
            )));
        }
        let max_results = req.max_results.unwrap_or(MAX_INTERVAL_RESULTS);
        if !(1..=MAX_INTERVAL_RESULTS).contains(&max_results) {
            return Err(Error::invalid(format!(
                "max_results must be between 1 and {MAX_INTERVAL_RESULTS}."
            )));
        }
        let (start, end) = match (req.start_step, req.end_step) {
            (None, None) => (None, None),
            (Some(start), Some(end)) if start > end => {
                return Err(Error::invalid(format!(
                    "end_step must be greater than start_step. Found start_step={start} and \
                     end_step={end}."
                )));
            }
            (Some(start), Some(end)) => (Some(start), Some(end)),
            _ => {
                return Err(Error::invalid(
                    "If either start step or end step are specified, both must be specified.",
                ));
            }
        };
        let per_run = usize::try_from(max_results).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for run_id in &req.run_ids {
            let points = self
                .store
                .metric_history_sampled(run_id, &req.metric_key, (start, end), per_run)
                .await?;
            out.extend(points.into_iter().map(|metric| MetricWithRunId {
                run_id: run_id.clone(),
                metric,
            }));
        }
        Ok(out)
    }
}

/// Splits `items` into `max` consecutive buckets of near-equal size (the first ones one larger)
/// and keeps the first item of each, then makes sure the last item is kept too.
pub fn sample_evenly<T>(items: Vec<T>, max: usize) -> Vec<T> {
    let n = items.len();
    if n <= max || max == 0 {
        return items;
    }
    let keep = sampled_positions(n, max);
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, k)| k.then_some(item))
        .collect()
}

/// Which of `n` ordered items `sample_evenly` keeps (`max < n`), for stores that sample while
/// reading instead of building every item first.
pub fn sampled_positions(n: usize, max: usize) -> Vec<bool> {
    let mut keep = vec![false; n];
    if n == 0 || max == 0 {
        return keep;
    }
    if n <= max {
        keep.fill(true);
        return keep;
    }
    let (base, larger) = (n / max, n % max);
    let mut start = 0;
    for bucket in 0..max {
        keep[start] = true;
        start += base + usize::from(bucket < larger);
    }
    if !keep[n - 1] {
        // Replace the last sampled point so the total stays at `max`.
        if let Some(last_kept) = keep.iter().rposition(|k| *k) {
            keep[last_kept] = false;
        }
        keep[n - 1] = true;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::sample_evenly;

    fn steps(n: i64, max: usize) -> Vec<i64> {
        sample_evenly((0..n).collect(), max)
    }

    #[test]
    fn keeps_everything_when_small() {
        assert_eq!(steps(3, 5), vec![0, 1, 2]);
    }

    #[test]
    fn buckets_like_ntile_and_keeps_the_last_point() {
        // 25 points in 5 buckets of 5: firsts are 0, 5, 10, 15, 20; the last point replaces 20.
        assert_eq!(steps(25, 5), vec![0, 5, 10, 15, 24]);
        // 10 points in 4 buckets of 3, 3, 2, 2.
        assert_eq!(steps(10, 4), vec![0, 3, 6, 9]);
    }

    #[test]
    fn one_point_means_the_last() {
        assert_eq!(steps(10, 1), vec![9]);
    }

    #[test]
    fn large_histories_stay_bounded_and_sorted() {
        let s = steps(50_000, 2500);
        assert_eq!(s.len(), 2500);
        assert_eq!(s.first(), Some(&0));
        assert_eq!(s.last(), Some(&49_999));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}

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

/// Input of `metrics/get-history-bulk` (the web UI's older chart read).
#[derive(Debug, Clone, Default)]
pub struct BulkHistoryRequest {
    pub run_ids: Vec<String>,
    pub metric_key: Option<String>,
    pub max_results: Option<i64>,
}

/// Most runs one bulk request may name.
pub const MAX_RUNS_PER_BULK_REQUEST: usize = 100;
/// Default and largest number of points in a bulk response, over all its runs.
pub const MAX_BULK_RESULTS: i64 = 25_000;

/// Most runs one bulk-interval request may name.
pub const MAX_RUNS_PER_INTERVAL_REQUEST: usize = 100;
/// Default and largest number of points per run in a bulk-interval response.
pub const MAX_INTERVAL_RESULTS: i64 = 2500;

/// Points read per query when a whole history is sent (the client's own page size).
const WHOLE_HISTORY_PAGE: i64 = validation::MAX_RESULTS_METRIC_HISTORY;

/// A metric's history as `metrics/get-history` answers it.
#[derive(Debug)]
pub enum MetricHistory {
    /// One page (or a whole history that fits in one).
    Page(Page<Metric>),
    /// A whole history longer than a page (no `max_results` given), to be sent as it is read.
    Whole(HistoryReader),
}

/// Reads a whole metric history a page at a time, so a history of millions of points is never
/// held in memory at once.
pub struct HistoryReader {
    store: Arc<dyn TrackingStore>,
    run_id: String,
    metric_key: String,
    first: Option<Vec<Metric>>,
    next_offset: i64,
    done: bool,
}

impl std::fmt::Debug for HistoryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryReader")
            .field("run_id", &self.run_id)
            .field("metric_key", &self.metric_key)
            .field("next_offset", &self.next_offset)
            .finish_non_exhaustive()
    }
}

impl HistoryReader {
    /// The next page of points; `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Metric>>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.done {
            return Ok(None);
        }
        let page = self
            .store
            .metric_history(
                &self.run_id,
                &self.metric_key,
                self.next_offset,
                WHOLE_HISTORY_PAGE,
            )
            .await?;
        self.next_offset += page.len() as i64;
        self.done = (page.len() as i64) < WHOLE_HISTORY_PAGE;
        Ok((!page.is_empty()).then_some(page))
    }
}

impl Tracking {
    /// All points when no `max_results` is given (read a page at a time when there are more
    /// than a page of them); otherwise one page.
    pub async fn metric_history(&self, req: HistoryRequest) -> Result<MetricHistory> {
        required("metric_key", &req.metric_key)?;
        required("run_id", &req.run_id)?;
        // As the reference does, an unknown run has an empty history rather than an error.
        let offset = paging::decode(req.page_token.as_deref())?;
        let limit = match req.max_results {
            Some(max) => {
                validation::validate_max_results(max, validation::MAX_RESULTS_METRIC_HISTORY)?;
                max
            }
            None if offset == 0 => return self.whole_history(req.run_id, req.metric_key).await,
            None => validation::MAX_RESULTS_METRIC_HISTORY,
        };
        let rows = self
            .store
            .metric_history(&req.run_id, &req.metric_key, offset, limit + 1)
            .await?;
        Ok(MetricHistory::Page(paging::page_from(rows, offset, limit)))
    }

    async fn whole_history(&self, run_id: String, metric_key: String) -> Result<MetricHistory> {
        let first = self
            .store
            .metric_history(&run_id, &metric_key, 0, WHOLE_HISTORY_PAGE + 1)
            .await?;
        if first.len() as i64 <= WHOLE_HISTORY_PAGE {
            return Ok(MetricHistory::Page(Page {
                items: first,
                next_page_token: None,
            }));
        }
        let mut first = first;
        first.truncate(WHOLE_HISTORY_PAGE as usize);
        Ok(MetricHistory::Whole(HistoryReader {
            store: self.store.clone(),
            run_id,
            metric_key,
            first: Some(first),
            next_offset: WHOLE_HISTORY_PAGE,
            done: false,
        }))
    }

    /// The metric's points of each named run, runs in ascending ID order (each once) and each
    /// run's points in (timestamp, step, value) order, at most `max_results` in all; unknown
    /// runs have none, as on the reference.
    pub async fn metric_history_bulk(
        &self,
        req: BulkHistoryRequest,
    ) -> Result<Vec<MetricWithRunId>> {
        if req.run_ids.is_empty() {
            return Err(Error::invalid(
                "GetMetricHistoryBulk request must specify at least one run_id.",
            ));
        }
        if req.run_ids.len() > MAX_RUNS_PER_BULK_REQUEST {
            return Err(Error::invalid(format!(
                "GetMetricHistoryBulk request cannot specify more than \
                 {MAX_RUNS_PER_BULK_REQUEST} run_ids. Received {} run_ids.",
                req.run_ids.len()
            )));
        }
        let Some(metric_key) = req.metric_key else {
            return Err(Error::invalid(
                "GetMetricHistoryBulk request must specify a metric_key.",
            ));
        };
        let max_results = req.max_results.unwrap_or(MAX_BULK_RESULTS);
        if max_results < 0 {
            return Err(Error::invalid(format!(
                "max_results must be between 0 and {MAX_BULK_RESULTS}, got {max_results}."
            )));
        }
        let mut remaining = max_results.min(MAX_BULK_RESULTS);
        let mut run_ids = req.run_ids;
        run_ids.sort_unstable();
        run_ids.dedup();
        let mut out = Vec::new();
        for run_id in run_ids {
            if remaining == 0 {
                break;
            }
            let points = self
                .store
                .metric_history(&run_id, &metric_key, 0, remaining)
                .await?;
            remaining -= points.len() as i64;
            out.extend(points.into_iter().map(|metric| MetricWithRunId {
                run_id: run_id.clone(),
                metric,
            }));
        }
        Ok(out)
    }

    /// Points of one metric for several runs, downsampled per run to at most `max_results`
    /// points spread evenly over the run's history (always keeping its last point).
    pub async fn metric_history_interval(
        &self,
        req: IntervalRequest,
    ) -> Result<Vec<MetricWithRunId>> {
        let (start, end, per_run) = req.check()?;
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

impl IntervalRequest {
    /// Checks the request as the reference does: the steps of its window, and how many points
    /// per run it asks for (`start`, `end`, `per_run`).
    pub fn check(&self) -> Result<(Option<i64>, Option<i64>, usize)> {
        required("metric_key", &self.metric_key)?;
        if self.run_ids.is_empty() {
            return Err(Error::missing_parameter("run_ids"));
        }
        if self.run_ids.len() > MAX_RUNS_PER_INTERVAL_REQUEST {
            return Err(Error::invalid(format!(
                "GetMetricHistoryBulkInterval request must specify at most \
                 {MAX_RUNS_PER_INTERVAL_REQUEST} run_ids. Received {} run_ids.",
                self.run_ids.len()
            )));
        }
        let max_results = self.max_results.unwrap_or(MAX_INTERVAL_RESULTS);
        if !(1..=MAX_INTERVAL_RESULTS).contains(&max_results) {
            return Err(Error::invalid(format!(
                "max_results must be between 1 and {MAX_INTERVAL_RESULTS}."
            )));
        }
        let steps = match (self.start_step, self.end_step) {
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
        Ok((steps.0, steps.1, per_run))
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

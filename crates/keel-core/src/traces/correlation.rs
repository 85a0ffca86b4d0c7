//! Trace filter correlation (`traces/calculate-filter-correlation`): how strongly two trace
//! filters co-occur among an experiment's traces, as normalized pointwise mutual information
//! (NPMI) with the reference's edge cases, and smoothed with Jeffreys' prior (0.5 per cell).

use super::search::{check_experiment_ids, parse_trace_filter};
use super::service::Traces;
use crate::error::{Error, Result};

/// The pseudo-count added to each cell of the 2x2 table for the smoothed NPMI.
const JEFFREYS_PRIOR: f64 = 0.5;

/// Input of a correlation: two filters over the traces of the experiments (those matching
/// `base_filter`, when given).
#[derive(Debug, Clone, Default)]
pub struct FilterCorrelationRequest {
    pub experiment_ids: Vec<String>,
    pub filter1: String,
    pub filter2: String,
    pub base_filter: Option<String>,
}

/// The counts of the traces matching each filter, both, and either (`total`: the traces
/// considered), with their NPMI; `None` where it is undefined (a filter matches nothing, or
/// there are no traces).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterCorrelation {
    pub npmi: Option<f64>,
    pub npmi_smoothed: Option<f64>,
    pub filter1_count: u64,
    pub filter2_count: u64,
    pub joint_count: u64,
    pub total_count: u64,
}

impl FilterCorrelation {
    /// The correlation of these counts.
    pub fn from_counts(filter1: u64, filter2: u64, joint: u64, total: u64) -> Self {
        let (npmi, npmi_smoothed) = npmi_from_counts(joint, filter1, filter2, total);
        Self {
            npmi,
            npmi_smoothed,
            filter1_count: filter1,
            filter2_count: filter2,
            joint_count: joint,
            total_count: total,
        }
    }
}

impl Traces {
    /// Counts the traces of the experiments matching `filter1`, `filter2` and both (each also
    /// matching `base_filter`), in one read, and their correlation.
    pub async fn filter_correlation(
        &self,
        req: FilterCorrelationRequest,
    ) -> Result<FilterCorrelation> {
        for (field, value) in [
            ("filter_string1", &req.filter1),
            ("filter_string2", &req.filter2),
        ] {
            if value.is_empty() {
                return Err(Error::missing_parameter(field));
            }
        }
        check_experiment_ids(&req.experiment_ids)?;
        let base = parse_trace_filter(req.base_filter.as_deref().unwrap_or(""))?;
        let first = parse_trace_filter(&req.filter1)?;
        let second = parse_trace_filter(&req.filter2)?;
        if req.experiment_ids.is_empty() {
            return Ok(FilterCorrelation::from_counts(0, 0, 0, 0));
        }
        let with_base = |extra: &[&[_]]| {
            let mut all = base.clone();
            for e in extra {
                all.extend_from_slice(e);
            }
            all
        };
        let filters = [
            base.clone(),
            with_base(&[&first]),
            with_base(&[&second]),
            with_base(&[&first, &second]),
        ];
        let counts = self
            .store()
            .count_traces(&req.experiment_ids, &filters)
            .await?;
        let [total, f1, f2, joint] = counts[..] else {
            return Err(Error::internal(
                "the store counted the wrong number of filters",
            ));
        };
        Ok(FilterCorrelation::from_counts(f1, f2, joint, total))
    }
}

/// NPMI and its smoothed value from the counts, as the reference computes them: undefined
/// without traces, when a filter matches nothing or when the counts are inconsistent; -1 when
/// the filters never co-occur.
fn npmi_from_counts(joint: u64, f1: u64, f2: u64, total: u64) -> (Option<f64>, Option<f64>) {
    if total == 0 || f1 == 0 || f2 == 0 {
        return (None, None);
    }
    let [joint, f1, f2, total] = [joint, f1, f2, total].map(|n| n as f64);
    let (n11, n10, n01) = (joint, f1 - joint, f2 - joint);
    let n00 = total - f1 - f2 + joint;
    if n11.min(n10).min(n01).min(n00) < 0.0 {
        return (None, None);
    }
    let npmi = if n11 == 0.0 {
        Some(-1.0)
    } else {
        npmi_core(n11, n10, n01, n00, 0.0)
    };
    (npmi, npmi_core(n11, n10, n01, n00, JEFFREYS_PRIOR))
}

/// NPMI of the 2x2 table with `smoothing` added to each cell, clamped to [-1, 1]; 1 when the
/// filters match exactly the same traces and every trace (before smoothing).
fn npmi_core(n11: f64, n10: f64, n01: f64, n00: f64, smoothing: f64) -> Option<f64> {
    let (a, b, c, d) = (
        n11 + smoothing,
        n10 + smoothing,
        n01 + smoothing,
        n00 + smoothing,
    );
    let n = a + b + c + d;
    let (n1, n2) = (a + b, a + c);
    if n1 <= 0.0 || n2 <= 0.0 || a <= 0.0 {
        return None;
    }
    if n10 == 0.0 && n01 == 0.0 && n00 == 0.0 {
        return Some(1.0);
    }
    // The reference's order of operations, so results match to the last bit.
    let pmi = (a.ln() + n.ln()) - (n1.ln() + n2.ln());
    let denominator = -(a.ln() - n.ln());
    Some((pmi / denominator).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(f1: u64, f2: u64, joint: u64, total: u64) -> (Option<f64>, Option<f64>) {
        let c = FilterCorrelation::from_counts(f1, f2, joint, total);
        (c.npmi, c.npmi_smoothed)
    }

    #[test]
    fn npmi_matches_the_reference_to_the_bit() {
        // Values the reference server answered (MLflow 3.17.2).
        assert_eq!(
            of(3, 2, 2, 4),
            (Some(0.41503749927884365), Some(0.25488465983224035))
        );
        assert_eq!(
            of(2, 2, 2, 4),
            (Some(0.9999999999999999), Some(0.583488138377115))
        );
        assert_eq!(of(1, 2, 0, 4), (Some(-1.0), Some(-0.27894294565112987)));
        assert_eq!(of(1, 2, 1, 2), (Some(0.0), Some(0.0)));
        assert_eq!(of(3, 3, 3, 4), (Some(1.0), Some(0.5045185174931336)));
        assert_eq!(of(1, 2, 1, 4), (Some(0.5), Some(0.2924812503605779)));
        assert_eq!(of(1, 1, 1, 4), (Some(1.0), Some(0.5849625007211561)));
        assert_eq!(of(2, 3, 2, 3), (Some(0.0), Some(0.05889368905356871)));
        assert_eq!(of(2, 2, 2, 2), (Some(1.0), Some(1.0)));
    }

    #[test]
    fn npmi_is_undefined_without_traces_matches_or_consistent_counts() {
        assert_eq!(of(1, 0, 0, 4), (None, None));
        assert_eq!(of(0, 0, 0, 0), (None, None));
        assert_eq!(of(3, 3, 1, 4), (None, None), "n00 < 0");
        assert_eq!(of(1, 1, 2, 4), (None, None), "joint above a filter");
    }
}

//! Trace search (`SearchTracesV3` and the v2 `GET /traces`): the filter and order_by parsed once
//! with the trace grammar, then evaluated by the store in SQL, one page at a time.

use keel_filter::traces::{TraceComparison, TraceOrderBy};

use super::info::TraceInfo;
use super::service::Traces;
use crate::entities::Page;
use crate::error::{Error, Result};
use crate::{paging, validation};

/// Page size when the request names none (the proto's default).
pub const DEFAULT_SEARCH_TRACES_RESULTS: i64 = 100;
/// Largest page a trace search may ask for (the reference handler's limit).
pub const MAX_SEARCH_TRACES_RESULTS: i64 = 500;

/// Input of a trace search.
#[derive(Debug, Clone, Default)]
pub struct SearchTraces {
    /// Experiments to search (several allowed); none finds nothing.
    pub experiment_ids: Vec<String>,
    pub filter: Option<String>,
    pub max_results: Option<i64>,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// What a store evaluates: parsed filter and order, a window of the ordered matches.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<TraceComparison>,
    pub order_by: Vec<TraceOrderBy>,
    pub offset: i64,
    pub limit: i64,
}

impl Traces {
    /// One page of the traces of `experiment_ids` matching the filter, in order.
    pub async fn search_traces(&self, req: SearchTraces) -> Result<Page<TraceInfo>> {
        let limit = req.max_results.unwrap_or(DEFAULT_SEARCH_TRACES_RESULTS);
        validation::validate_max_results(limit, MAX_SEARCH_TRACES_RESULTS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_trace_filter(req.filter.as_deref().unwrap_or(""))?;
        if req.order_by.len() > validation::MAX_ORDER_BY_CLAUSES {
            return Err(Error::invalid(format!(
                "Invalid order_by: at most {} order_by clauses are supported, got {}.",
                validation::MAX_ORDER_BY_CLAUSES,
                req.order_by.len()
            )));
        }
        let order_by = keel_filter::traces::parse_order_by_list(&req.order_by)?;
        check_experiment_ids(&req.experiment_ids)?;
        if req.experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let query = TraceQuery {
            experiment_ids: req.experiment_ids,
            filter,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_traces(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }
}

/// A trace filter in the trace grammar, with at most [`validation::MAX_FILTER_CLAUSES`]
/// comparisons.
pub(crate) fn parse_trace_filter(filter: &str) -> Result<Vec<TraceComparison>> {
    let filter = keel_filter::traces::parse_filter(filter)?;
    if filter.len() > validation::MAX_FILTER_CLAUSES {
        return Err(Error::invalid(format!(
            "Invalid filter: at most {} comparisons are supported, got {}.",
            validation::MAX_FILTER_CLAUSES,
            filter.len()
        )));
    }
    Ok(filter)
}

/// The experiments a trace search names: numeric IDs, [`validation::MAX_SEARCH_EXPERIMENT_IDS`]
/// at most.
pub(crate) fn check_experiment_ids(ids: &[String]) -> Result<()> {
    if ids.len() > validation::MAX_SEARCH_EXPERIMENT_IDS {
        return Err(Error::invalid(format!(
            "A trace search can name at most {} experiments, got {}.",
            validation::MAX_SEARCH_EXPERIMENT_IDS,
            ids.len()
        )));
    }
    for id in ids {
        crate::tracking::parse_experiment_id(id)?;
    }
    Ok(())
}

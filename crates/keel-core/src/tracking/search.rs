//! Run, experiment and dataset search: parse the filter once, then let the store evaluate it.

use super::*;
use crate::entities::{DatasetSummary, Experiment, Page, Run, ViewType};
use crate::paging;
use crate::store::{ExperimentQuery, RunQuery};
use crate::validation;
use keel_filter::Target;

/// Default page size of run and experiment searches.
pub const DEFAULT_SEARCH_RESULTS: i64 = 1000;
/// Most experiments one dataset search may name.
pub const MAX_EXPERIMENTS_PER_DATASET_SEARCH: usize = 20;

/// Input of `runs/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchRuns {
    pub experiment_ids: Vec<String>,
    /// When set (workspaces are on), experiments outside this workspace are dropped.
    pub workspace: Option<String>,
    pub filter: Option<String>,
    pub view: ViewType,
    pub max_results: Option<i64>,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// Input of `experiments/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchExperiments {
    /// The workspace searched (empty: `default`).
    pub workspace: String,
    /// Which experiments the caller may see.
    pub visible: crate::store::Visible,
    pub filter: Option<String>,
    pub view: ViewType,
    pub max_results: Option<i64>,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

impl Tracking {
    pub async fn search_runs(&self, req: SearchRuns) -> Result<Page<Run>> {
        let limit = req.max_results.unwrap_or(DEFAULT_SEARCH_RESULTS);
        validation::validate_max_results(limit, validation::MAX_RESULTS_SEARCH_RUNS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(Target::Runs, req.filter.as_deref())?;
        let order_by = parse_order_by(Target::Runs, &req.order_by)?;
        if req.experiment_ids.len() > validation::MAX_SEARCH_EXPERIMENT_IDS {
            return Err(Error::invalid(format!(
                "A run search can name at most {} experiment_ids, got {}.",
                validation::MAX_SEARCH_EXPERIMENT_IDS,
                req.experiment_ids.len()
            )));
        }
        for id in &req.experiment_ids {
            parse_experiment_id(id)?;
        }
        if req.experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let query = RunQuery {
            experiment_ids: req.experiment_ids,
            workspace: req.workspace,
            view: req.view,
            filter,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_runs(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    pub async fn search_experiments(&self, req: SearchExperiments) -> Result<Page<Experiment>> {
        let limit = req.max_results.unwrap_or(DEFAULT_SEARCH_RESULTS);
        validation::validate_max_results(limit, validation::MAX_RESULTS_SEARCH_EXPERIMENTS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(Target::Experiments, req.filter.as_deref())?;
        let order_by = parse_order_by(Target::Experiments, &req.order_by)?;
        let workspace = if req.workspace.is_empty() {
            crate::workspaces::DEFAULT_WORKSPACE.to_owned()
        } else {
            req.workspace
        };
        let query = ExperimentQuery {
            workspace,
            visible: req.visible,
            view: req.view,
            filter,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_experiments(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    pub async fn search_datasets(
        &self,
        experiment_ids: Vec<String>,
    ) -> Result<Vec<DatasetSummary>> {
        check_dataset_search(&experiment_ids)?;
        self.store.search_datasets(&experiment_ids).await
    }
}

/// A dataset search names 1 to [`MAX_EXPERIMENTS_PER_DATASET_SEARCH`] valid experiment IDs.
pub fn check_dataset_search(experiment_ids: &[String]) -> Result<()> {
    if experiment_ids.is_empty() {
        return Err(Error::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if experiment_ids.len() > MAX_EXPERIMENTS_PER_DATASET_SEARCH {
        return Err(Error::invalid(format!(
            "SearchDatasets request cannot specify more than \
             {MAX_EXPERIMENTS_PER_DATASET_SEARCH} experiment_ids. Received {} experiment_ids.",
            experiment_ids.len()
        )));
    }
    for id in experiment_ids {
        parse_experiment_id(id)?;
    }
    Ok(())
}

pub(crate) fn parse_order_by(
    target: Target,
    clauses: &[String],
) -> Result<Vec<keel_filter::OrderBy>> {
    if clauses.len() > validation::MAX_ORDER_BY_CLAUSES {
        return Err(Error::invalid(format!(
            "Invalid order_by: at most {} order_by clauses are supported, got {}.",
            validation::MAX_ORDER_BY_CLAUSES,
            clauses.len()
        )));
    }
    Ok(keel_filter::parse_order_by_list(target, clauses)?)
}

/// Parses a filter and checks it stays within the search size caps.
pub(crate) fn parse_filter(
    target: Target,
    filter: Option<&str>,
) -> Result<Vec<keel_filter::Comparison>> {
    let comparisons = keel_filter::parse_filter(target, filter.unwrap_or(""))?;
    if comparisons.len() > validation::MAX_FILTER_CLAUSES {
        return Err(Error::invalid(format!(
            "Invalid filter: at most {} comparisons are supported, got {}.",
            validation::MAX_FILTER_CLAUSES,
            comparisons.len()
        )));
    }
    for c in &comparisons {
        let too_long = |s: &String| s.chars().count() > validation::MAX_FILTER_VALUE_LENGTH;
        let bad = match &c.value {
            keel_filter::Literal::Str(s) => too_long(s),
            keel_filter::Literal::List(items) => {
                items.len() > validation::MAX_FILTER_LIST_ITEMS || items.iter().any(too_long)
            }
            keel_filter::Literal::Num(_) | keel_filter::Literal::Null => false,
        };
        if bad {
            return Err(Error::invalid(format!(
                "Invalid filter: the value compared with '{}' is too large (at most {} \
                 characters, or {} list items).",
                c.key,
                validation::MAX_FILTER_VALUE_LENGTH,
                validation::MAX_FILTER_LIST_ITEMS
            )));
        }
    }
    Ok(comparisons)
}

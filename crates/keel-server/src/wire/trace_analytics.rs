//! Wire shapes of the trace analytics routes: `traces/calculate-filter-correlation`.

use keel_core::Result;
use keel_core::traces::{FilterCorrelation, FilterCorrelationRequest};
use serde::{Deserialize, Serialize};

use super::proto::{Stringish, opt_string};
use super::requests::need;

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

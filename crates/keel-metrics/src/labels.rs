//! The label sets of Keel's metrics. Values are static strings where the set is closed (methods,
//! directions, outcomes) and shared strings where it is open but bounded (route templates).

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BuildLabels {
    pub version: &'static str,
    pub mlflow_version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DirectionLabels {
    pub direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub outcome: &'static str,
}

/// A route's path template as the router matched it (`/api/2.0/mlflow/runs/get`), or
/// `unmatched` for a path no route serves: never the raw path, whose values are unbounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Route(pub Arc<str>);

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.0.as_ref(), encoder)
    }
}

/// `keel_http_requests_total`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub route: Route,
    pub method: &'static str,
    pub status: u16,
}

/// `keel_http_request_duration_seconds`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub route: Route,
    pub method: &'static str,
}

/// The reference's `mlflow_http_request_total` and `..._exceptions_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StatusLabels {
    pub method: &'static str,
    pub status: u16,
}

/// The reference's `mlflow_http_request_duration_seconds` labels, in its order.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct MlflowDurationLabels {
    pub method: &'static str,
    pub mlflow_version: &'static str,
    pub status: u16,
}

//! Connection pool figures, read from each watched pool at scrape time (a pool knows its own
//! state; counting every checkout would cost each query an atomic update for nothing).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// One pool's figures at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `sqlite` (the reader connections) or `postgres`.
    pub backend: &'static str,
    /// Connections checked out by a query now.
    pub in_use: u64,
    /// Connections open and waiting.
    pub idle: u64,
    /// The most connections the pool opens.
    pub max: u64,
}

type Source = Box<dyn Fn() -> Option<PoolStats> + Send + Sync>;

/// The watched pools (each a closure that answers `None` once its pool is gone).
#[derive(Clone, Default)]
pub(crate) struct Pools(Arc<Mutex<Vec<Source>>>);

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pools")
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    backend: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: &'static str,
}

impl Pools {
    pub(crate) fn watch(&self, source: Source) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(source);
    }

    /// Each backend's figures summed over its live pools; closed pools are forgotten.
    fn totals(&self) -> Vec<PoolStats> {
        let mut sources = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut totals: Vec<PoolStats> = Vec::new();
        sources.retain(|source| {
            let Some(s) = source() else { return false };
            match totals.iter_mut().find(|t| t.backend == s.backend) {
                Some(t) => {
                    t.in_use += s.in_use;
                    t.idle += s.idle;
                    t.max += s.max;
                }
                None => totals.push(s),
            }
            true
        });
        totals
    }
}

impl Collector for Pools {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let totals = self.totals();
        if totals.is_empty() {
            return Ok(());
        }
        let mut connections = encoder.encode_descriptor(
            "keel_db_pool_connections",
            "Database connections by state (in_use: checked out by a query; idle: open, waiting)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for t in &totals {
            for (state, n) in [("in_use", t.in_use), ("idle", t.idle)] {
                let labels = StateLabels {
                    backend: t.backend,
                    state,
                };
                ConstGauge::new(n as i64).encode(connections.encode_family(&labels)?)?;
            }
        }
        let mut max = encoder.encode_descriptor(
            "keel_db_pool_max_connections",
            "The most database connections the pool opens",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for t in &totals {
            let labels = BackendLabels { backend: t.backend };
            ConstGauge::new(t.max as i64).encode(max.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_lines, render};
    use prometheus_client::registry::Registry;

    #[test]
    fn pools_are_summed_by_backend_and_closed_ones_drop_out() {
        let pools = Pools::default();
        let stats = |in_use, idle| PoolStats {
            backend: "sqlite",
            in_use,
            idle,
            max: 8,
        };
        pools.watch(Box::new(move || Some(stats(1, 2))));
        pools.watch(Box::new(move || Some(stats(3, 0))));
        let live = Arc::new(());
        let weak = Arc::downgrade(&live);
        pools.watch(Box::new(move || {
            weak.upgrade().map(|_| PoolStats {
                backend: "postgres",
                in_use: 4,
                idle: 6,
                max: 10,
            })
        }));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(pools.clone()));
        assert_lines(
            &render(&registry),
            &[
                "keel_db_pool_connections{backend=\"sqlite\",state=\"in_use\"} 4",
                "keel_db_pool_connections{backend=\"sqlite\",state=\"idle\"} 2",
                "keel_db_pool_connections{backend=\"postgres\",state=\"idle\"} 6",
                "keel_db_pool_max_connections{backend=\"sqlite\"} 16",
                "keel_db_pool_max_connections{backend=\"postgres\"} 10",
            ],
        );
        drop(live);
        let text = render(&registry);
        assert!(!text.contains("postgres"), "{text}");
        assert_eq!(pools.0.lock().expect("lock").len(), 2);
    }
}

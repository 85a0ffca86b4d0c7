//! The usage ledger: what the gateway's calls used and cost, summed per workspace, UTC day,
//! endpoint, model and user — what usage dashboards and the usage API read (each call's own
//! record is its trace). Calls add to an in-memory tally that a background task writes every
//! second (one upsert per key and second, however many calls), and once more when the
//! gateway stops.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use keel_core::{Error, Result};

use crate::Gateway;

/// How often the tally is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The longest span of days one query covers.
pub const MAX_DAYS: i64 = 366;
/// The most rows one query answers.
pub const MAX_ROWS: usize = 10_000;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one row of the ledger sums over.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    pub workspace: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub endpoint_id: String,
    /// The provider and model that served (empty when none did).
    pub provider: String,
    pub model: String,
    /// The caller's username (empty when anonymous).
    pub username: String,
}

/// What calls used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts {
    pub calls: i64,
    /// Calls that got no answer: refused by a limit, or every model failed.
    pub failures: i64,
    /// Calls answered from the response cache.
    pub cache_hits: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// In nano-dollars.
    pub cost_nanos: i64,
}

impl UsageCounts {
    fn add(&mut self, other: &Self) {
        self.calls = self.calls.saturating_add(other.calls);
        self.failures = self.failures.saturating_add(other.failures);
        self.cache_hits = self.cache_hits.saturating_add(other.cache_hits);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cost_nanos = self.cost_nanos.saturating_add(other.cost_nanos);
    }
}

/// How a usage query groups its rows (the columns not grouped by are summed over).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupBy {
    pub day: bool,
    pub endpoint: bool,
    pub model: bool,
    pub user: bool,
}

impl GroupBy {
    /// `day,endpoint,model,user` (any of them, in any order; empty: one total).
    pub fn parse(text: &str) -> Result<Self> {
        let mut g = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "day" => g.day = true,
                "endpoint" => g.endpoint = true,
                "model" => g.model = true,
                "user" => g.user = true,
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid group_by '{other}'. Use any of: day, endpoint, model, user."
                    )));
                }
            }
        }
        Ok(g)
    }
}

/// A usage query over one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    pub workspace: String,
    /// The first and last day (days since 1970-01-01), both included.
    pub from_day: i64,
    pub to_day: i64,
    pub endpoint_id: Option<String>,
    pub username: Option<String>,
    pub group_by: GroupBy,
}

/// One row of an answer: the grouped columns set, the others `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub day: Option<i64>,
    pub endpoint_id: Option<String>,
    /// The endpoint's name, while it exists.
    pub endpoint_name: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub username: Option<String>,
    pub counts: UsageCounts,
}

/// Calls' usage not yet written.
#[derive(Debug, Default)]
pub struct Tally {
    pending: Mutex<HashMap<UsageKey, UsageCounts>>,
}

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UsageKey, UsageCounts>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, key: UsageKey, counts: UsageCounts) {
        self.lock().entry(key).or_default().add(&counts);
    }

    fn take(&self) -> Vec<(UsageKey, UsageCounts)> {
        let mut rows: Vec<_> = std::mem::take(&mut *self.lock()).into_iter().collect();
        // Written in key order, so concurrent replicas' upserts never wait in a cycle.
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

/// A `YYYY-MM-DD` date as days since 1970-01-01.
pub fn parse_day(field: &str, text: &str) -> Result<i64> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| {
            d.signed_duration_since(chrono::NaiveDate::default())
                .num_days()
        })
        .map_err(|_| Error::invalid(format!("Invalid {field} '{text}': expected YYYY-MM-DD.")))
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    (chrono::NaiveDate::default() + chrono::Duration::days(day))
        .format("%Y-%m-%d")
        .to_string()
}

impl Gateway {
    /// Adds one call's usage to the tally.
    pub(crate) fn account(&self, key: UsageKey, counts: UsageCounts) {
        self.tally.add(key, counts);
    }

    /// The ledger key of a call made now.
    pub(crate) fn usage_key(
        &self,
        workspace: &str,
        endpoint_id: &str,
        served_by: Option<(&str, &str)>,
        username: Option<&str>,
    ) -> UsageKey {
        let (provider, model) = served_by.unwrap_or_default();
        UsageKey {
            workspace: workspace.to_owned(),
            day: self.now().div_euclid(DAY_MS),
            endpoint_id: endpoint_id.to_owned(),
            provider: provider.to_owned(),
            model: model.to_owned(),
            username: username.unwrap_or_default().to_owned(),
        }
    }

    /// Writes the tally (what did not reach the store goes back into it).
    pub async fn flush_usage(&self) {
        let rows = self.tally.take();
        if rows.is_empty() {
            return;
        }
        if let Err(e) = self.store.add_usage(&rows).await {
            tracing::warn!(error = %e.message, rows = rows.len(), "cannot write gateway usage; kept for the next try");
            for (key, counts) in rows {
                self.tally.add(key, counts);
            }
        }
    }

    /// Writes the tally every [`FLUSH_EVERY`] from a task on the current runtime, and once
    /// more when the gateway stops.
    pub fn flush_usage_periodically(&self) {
        let gateway = self.clone();
        self.background.spawn(async move {
            let mut every = tokio::time::interval(FLUSH_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => gateway.flush_usage().await,
                    () = gateway.stopping.cancelled() => break,
                }
            }
            gateway.flush_usage().await;
        });
    }

    /// The workspace's usage over the query's days, grouped as asked.
    pub async fn usage(&self, query: UsageQuery) -> Result<Vec<UsageRow>> {
        if query.to_day < query.from_day {
            return Err(Error::invalid("end_day is before start_day."));
        }
        if query.to_day - query.from_day >= MAX_DAYS {
            return Err(Error::invalid(format!(
                "A usage query covers at most {MAX_DAYS} days."
            )));
        }
        self.store.query_usage(&query, MAX_ROWS).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_days_are_parsed_strictly() {
        let g = GroupBy::parse("user, day").expect("groups");
        assert!(g.user && g.day && !g.endpoint && !g.model);
        assert_eq!(GroupBy::parse("").expect("none"), GroupBy::default());
        assert!(GroupBy::parse("day;drop").is_err());
        assert_eq!(parse_day("start_day", "1970-01-02").expect("day"), 1);
        assert_eq!(parse_day("start_day", "2026-12-05").expect("day"), 20_792);
        assert_eq!(format_day(20_792), "2026-12-05");
        assert!(parse_day("start_day", "2026-13-01").is_err());
        assert!(parse_day("start_day", "yesterday").is_err());
    }

    #[test]
    fn the_tally_sums_per_key_and_hands_rows_out_in_key_order() {
        let tally = Tally::default();
        let key = |user: &str| UsageKey {
            workspace: "default".into(),
            day: 1,
            endpoint_id: "e-1".into(),
            provider: "openai".into(),
            model: "m".into(),
            username: user.into(),
        };
        let one = UsageCounts {
            calls: 1,
            input_tokens: 10,
            cost_nanos: 5,
            ..UsageCounts::default()
        };
        tally.add(key("bob"), one);
        tally.add(key("bob"), one);
        tally.add(key("alice"), one);
        let rows = tally.take();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0.username, "alice");
        assert_eq!((rows[1].1.calls, rows[1].1.input_tokens), (2, 20));
        assert!(tally.take().is_empty());
    }
}

//! Rate limits (`rl-...`, Keel's own `/api/3.0/keel/gateway/rate-limits/*`; the reference's
//! database-backed gateway has none): at most so many requests and so many tokens per UTC
//! minute, over every call (GLOBAL), a workspace's, an endpoint's or a user's. A call is
//! refused (HTTP 429) when its request, or its worst-case tokens, would not fit in the minute;
//! it is held and settled like a budget ([`crate::limits`]).

use keel_core::{Error, Page, Result};

use crate::Gateway;
use crate::budgets::{
    LimitKind, PolicyAuthor, TargetScope, check_target, global_needs_admin, non_empty,
};
use crate::endpoints::{EndpointKey, not_found};
use crate::windows::{BudgetDuration, DurationUnit, Window};

/// A stored rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub rate_limit_id: String,
    pub workspace: String,
    pub target_scope: TargetScope,
    pub target_value: Option<String>,
    /// Calls per minute, at most (`None`: not limited).
    pub requests_per_minute: Option<i64>,
    /// Input and output tokens per minute, at most (`None`: not limited).
    pub tokens_per_minute: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Requests,
    Tokens,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        }
    }
}

impl RateLimit {
    /// The counter of one dimension (`rl-...:requests`).
    pub fn counter(&self, dimension: Dimension) -> String {
        format!("{}:{}", self.rate_limit_id, dimension.as_str())
    }

    /// The limit of one dimension, if it has one.
    pub fn limit(&self, dimension: Dimension) -> Option<i64> {
        match dimension {
            Dimension::Requests => self.requests_per_minute,
            Dimension::Tokens => self.tokens_per_minute,
        }
    }
}

/// Rate limits count fixed UTC minutes.
pub const MINUTE: BudgetDuration = BudgetDuration {
    unit: DurationUnit::Minutes,
    value: 1,
};

/// `rate-limits/create`, and `rate-limits/update` (where every field is optional; a limit
/// of 0 or less removes that dimension's limit).
#[derive(Debug, Clone, Default)]
pub struct RateLimitIn {
    pub rate_limit_id: Option<String>,
    pub target_scope: Option<String>,
    pub target_value: Option<String>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub author: Option<String>,
}

/// A rate limit's current minute: what was used and what calls in flight hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    pub rate_limit_id: String,
    pub window: Window,
    pub requests_used: i64,
    pub requests_held: i64,
    pub tokens_used: i64,
    pub tokens_held: i64,
}

fn not_found_error(id: &str) -> Error {
    Error::not_found(format!("RateLimit not found (rate_limit_id='{id}')"))
}

/// A limit as given: positive, or none (`0` or less).
fn per_minute(field: &str, value: Option<i64>) -> Result<Option<i64>> {
    match value {
        Some(n) if n > 1_000_000_000_000 => Err(Error::invalid(format!(
            "{field} must be at most 1000000000000, got {n}"
        ))),
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Ok(None),
    }
}

fn check(limit: &RateLimit, author: PolicyAuthor) -> Result<()> {
    if limit.requests_per_minute.is_none() && limit.tokens_per_minute.is_none() {
        return Err(Error::invalid(
            "A rate limit needs requests_per_minute, tokens_per_minute or both (positive).",
        ));
    }
    check_target(
        LimitKind::RateLimit,
        limit.target_scope,
        limit.target_value.as_deref(),
        author,
    )
}

fn scope_of(given: &str) -> Result<TargetScope> {
    TargetScope::parse(given).ok_or_else(|| {
        Error::invalid(format!(
            "Invalid target_scope '{given}'. Must be one of: GLOBAL, WORKSPACE, ENDPOINT, USER."
        ))
    })
}

impl Gateway {
    pub async fn create_rate_limit(
        &self,
        workspace: &str,
        req: RateLimitIn,
        author: PolicyAuthor,
    ) -> Result<RateLimit> {
        let scope =
            non_empty(req.target_scope).ok_or_else(|| Error::missing_parameter("target_scope"))?;
        let now = self.now();
        let created_by = non_empty(req.author);
        let limit = RateLimit {
            rate_limit_id: format!("rl-{}", uuid::Uuid::new_v4().simple()),
            workspace: workspace.to_owned(),
            target_scope: scope_of(&scope)?,
            target_value: non_empty(req.target_value),
            requests_per_minute: per_minute("requests_per_minute", req.requests_per_minute)?,
            tokens_per_minute: per_minute("tokens_per_minute", req.tokens_per_minute)?,
            created_by: created_by.clone(),
            created_at: now,
            last_updated_by: created_by,
            last_updated_at: now,
        };
        check(&limit, author)?;
        self.target_endpoint_exists(&limit).await?;
        self.store.insert_rate_limit(&limit).await?;
        keel_core::audit::scope::note_created("RateLimit", &limit.rate_limit_id);
        self.limits_changed();
        Ok(limit)
    }

    async fn target_endpoint_exists(&self, limit: &RateLimit) -> Result<()> {
        if limit.target_scope != TargetScope::Endpoint {
            return Ok(());
        }
        let id = limit.target_value.as_deref().unwrap_or_default();
        match self
            .store
            .get_endpoint(&limit.workspace, EndpointKey::Id(id))
            .await?
        {
            Some(_) => Ok(()),
            None => Err(not_found(EndpointKey::Id(id))),
        }
    }

    pub async fn get_rate_limit(&self, workspace: &str, id: Option<String>) -> Result<RateLimit> {
        let id = non_empty(id).ok_or_else(|| Error::missing_parameter("rate_limit_id"))?;
        self.store
            .get_rate_limit(workspace, &id)
            .await?
            .ok_or_else(|| not_found_error(&id))
    }

    pub async fn update_rate_limit(
        &self,
        workspace: &str,
        req: RateLimitIn,
        author: PolicyAuthor,
    ) -> Result<RateLimit> {
        let mut limit = self.get_rate_limit(workspace, req.rate_limit_id).await?;
        global_needs_admin(LimitKind::RateLimit, limit.target_scope, author)?;
        if let Some(scope) = non_empty(req.target_scope) {
            let scope = scope_of(&scope)?;
            if scope != limit.target_scope {
                limit.target_value = None;
            }
            limit.target_scope = scope;
        }
        if req.target_value.is_some() {
            limit.target_value = non_empty(req.target_value);
        }
        if req.requests_per_minute.is_some() {
            limit.requests_per_minute = per_minute("requests_per_minute", req.requests_per_minute)?;
        }
        if req.tokens_per_minute.is_some() {
            limit.tokens_per_minute = per_minute("tokens_per_minute", req.tokens_per_minute)?;
        }
        check(&limit, author)?;
        self.target_endpoint_exists(&limit).await?;
        if let Some(by) = non_empty(req.author) {
            limit.last_updated_by = Some(by);
        }
        limit.last_updated_at = self.now();
        if !self.store.update_rate_limit(&limit).await? {
            return Err(not_found_error(&limit.rate_limit_id));
        }
        self.limits_changed();
        Ok(limit)
    }

    pub async fn delete_rate_limit(
        &self,
        workspace: &str,
        id: Option<String>,
        author: PolicyAuthor,
    ) -> Result<()> {
        let limit = self.get_rate_limit(workspace, id).await?;
        global_needs_admin(LimitKind::RateLimit, limit.target_scope, author)?;
        if !self
            .store
            .delete_rate_limit(workspace, &limit.rate_limit_id)
            .await?
        {
            return Err(not_found_error(&limit.rate_limit_id));
        }
        self.limits_changed();
        Ok(())
    }

    /// A page of the workspace's rate limits, by ID.
    pub async fn list_rate_limits(
        &self,
        workspace: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<RateLimit>> {
        let limit = crate::budgets::page_size(max_results)?;
        let offset = keel_core::paging::decode(page_token)?;
        let rows = self
            .store
            .list_rate_limits(workspace, offset, limit + 1)
            .await?;
        Ok(keel_core::paging::page_from(rows, offset, limit))
    }

    /// The current minute of every rate limit a workspace sees (its own and every GLOBAL one).
    pub async fn rate_windows(&self, workspace: &str) -> Result<Vec<RateWindow>> {
        let window = MINUTE.window(self.now());
        let limits: Vec<RateLimit> = self
            .store
            .all_rate_limits()
            .await?
            .into_iter()
            .filter(|l| l.workspace == workspace || l.target_scope == TargetScope::Global)
            .collect();
        let keys: Vec<(String, i64)> = limits
            .iter()
            .flat_map(|l| {
                [Dimension::Requests, Dimension::Tokens].map(|d| (l.counter(d), window.start_ms))
            })
            .collect();
        let usage = self.store.limit_usage(&keys).await?;
        Ok(limits
            .into_iter()
            .zip(usage.chunks(2))
            .map(|(l, u)| RateWindow {
                rate_limit_id: l.rate_limit_id,
                window,
                requests_used: u[0].0,
                requests_held: u[0].1,
                tokens_used: u[1].0,
                tokens_held: u[1].1,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(scope: TargetScope, target: Option<&str>, rpm: Option<i64>) -> RateLimit {
        RateLimit {
            rate_limit_id: "rl-1".into(),
            workspace: "default".into(),
            target_scope: scope,
            target_value: target.map(str::to_owned),
            requests_per_minute: rpm,
            tokens_per_minute: None,
            created_by: None,
            created_at: 0,
            last_updated_by: None,
            last_updated_at: 0,
        }
    }

    fn author(server_admin: bool) -> PolicyAuthor {
        PolicyAuthor {
            server_admin,
            users_authenticated: true,
        }
    }

    #[test]
    fn a_limit_needs_a_dimension_a_fitting_target_and_global_is_for_server_admins() {
        check(
            &limit(TargetScope::Workspace, None, Some(10)),
            author(false),
        )
        .expect("ok");
        assert!(check(&limit(TargetScope::Workspace, None, None), author(true)).is_err());
        assert!(check(&limit(TargetScope::User, None, Some(1)), author(true)).is_err());
        assert!(
            check(
                &limit(TargetScope::Global, Some("x"), Some(1)),
                author(true)
            )
            .is_err()
        );
        assert!(check(&limit(TargetScope::Global, None, Some(1)), author(false)).is_err());
        check(&limit(TargetScope::Global, None, Some(1)), author(true)).expect("admin");
        assert_eq!(per_minute("rpm", Some(0)).expect("none"), None);
        assert!(per_minute("rpm", Some(i64::MAX)).is_err());
    }

    #[test]
    fn counters_are_named_by_limit_and_dimension() {
        let l = limit(TargetScope::Workspace, None, Some(10));
        assert_eq!(l.counter(Dimension::Tokens), "rl-1:tokens");
        assert_eq!(l.limit(Dimension::Requests), Some(10));
        assert_eq!(l.limit(Dimension::Tokens), None);
    }
}

//! Budget policies (`bp-...`, the reference's `gateway/budgets/*`): a spending limit in USD
//! per fixed UTC window, over every call (GLOBAL), a workspace's, an endpoint's or a user's,
//! that either alerts (the `budget_policy.exceeded` webhook) or rejects calls. The rules of
//! the configuration are here; how calls are held to the limits is in [`crate::limits`].

use keel_core::{Error, ErrorCode, Page, Result};

use crate::Gateway;
use crate::endpoints::{EndpointKey, not_found};
use crate::windows::{BudgetDuration, DurationUnit, Window};

/// Whom a policy's limit counts the calls of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetScope {
    /// Every call, in every workspace.
    Global,
    /// The calls made in the policy's workspace.
    Workspace,
    /// The calls to one endpoint (`target_value` = its ID).
    Endpoint,
    /// The calls of one user (`target_value` = the username).
    User,
}

impl TargetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "GLOBAL",
            Self::Workspace => "WORKSPACE",
            Self::Endpoint => "ENDPOINT",
            Self::User => "USER",
        }
    }

    /// The proto's names and numbers (`GLOBAL` = 1 ... `USER` = 4).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "GLOBAL" | "1" => Self::Global,
            "WORKSPACE" | "2" => Self::Workspace,
            "ENDPOINT" | "3" => Self::Endpoint,
            "USER" | "4" => Self::User,
            _ => return None,
        })
    }

    /// Whether the scope names its target in `target_value`.
    pub fn targeted(self) -> bool {
        matches!(self, Self::Endpoint | Self::User)
    }
}

/// What happens once a window's spend reaches the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetAction {
    /// Calls go on; the `budget_policy.exceeded` webhook fires once per window.
    Alert,
    /// Calls whose worst-case cost does not fit in what is left are refused (HTTP 429).
    Reject,
}

impl BudgetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "ALERT",
            Self::Reject => "REJECT",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ALERT" | "1" => Self::Alert,
            "REJECT" | "2" => Self::Reject,
            _ => return None,
        })
    }
}

/// The one budget unit there is.
pub const USD: &str = "USD";

fn parse_unit(text: &str) -> Option<&'static str> {
    matches!(text, "USD" | "1").then_some(USD)
}

fn parse_duration_unit(text: &str) -> Option<DurationUnit> {
    DurationUnit::parse(text).or(match text {
        "1" => Some(DurationUnit::Minutes),
        "2" => Some(DurationUnit::Hours),
        "3" => Some(DurationUnit::Days),
        "4" => Some(DurationUnit::Weeks),
        "5" => Some(DurationUnit::Months),
        _ => None,
    })
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetPolicy {
    pub budget_policy_id: String,
    /// The workspace it was made in (a GLOBAL policy counts every workspace's calls).
    pub workspace: String,
    pub budget_amount: f64,
    pub duration: BudgetDuration,
    pub target_scope: TargetScope,
    pub target_value: Option<String>,
    pub budget_action: BudgetAction,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

/// A policy's duration as the request gives it: the enum's name or number, and a count.
#[derive(Debug, Clone, Default)]
pub struct DurationIn {
    pub unit: Option<String>,
    pub value: Option<i64>,
}

/// `budgets/create`: enums as their names or numbers, as the request gives them.
#[derive(Debug, Clone, Default)]
pub struct CreateBudgetPolicy {
    pub budget_unit: Option<String>,
    pub budget_amount: Option<f64>,
    pub duration: Option<DurationIn>,
    pub target_scope: Option<String>,
    pub target_value: Option<String>,
    pub budget_action: Option<String>,
    pub created_by: Option<String>,
}

/// `budgets/update`: every field but the ID optional.
#[derive(Debug, Clone, Default)]
pub struct UpdateBudgetPolicy {
    pub budget_policy_id: Option<String>,
    pub budget_unit: Option<String>,
    pub budget_amount: Option<f64>,
    pub duration: Option<DurationIn>,
    pub target_scope: Option<String>,
    pub target_value: Option<String>,
    pub budget_action: Option<String>,
    pub updated_by: Option<String>,
}

/// Who changes a policy, for the rules that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyAuthor {
    /// A server administrator (only they may make, change or delete a GLOBAL policy, since it
    /// limits every workspace).
    pub server_admin: bool,
    /// Whether calls carry an authenticated user (else a USER policy could never apply).
    pub users_authenticated: bool,
}

/// A window of a policy with what has been spent in it.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetWindow {
    pub budget_policy_id: String,
    pub window: Window,
    /// Settled spend in USD.
    pub current_spend: f64,
    /// Held for calls in flight (their worst case), in USD.
    pub reserved_spend: f64,
}

/// The bound on a policy's amount Keel accepts (a trillion dollars: the limit is counted in
/// nano-dollars in a 64-bit integer).
pub const MAX_BUDGET_AMOUNT: f64 = 1e12;
/// Keel's bound on a `target_value` (an endpoint ID or a username).
pub const MAX_TARGET_CHARS: usize = 255;

fn invalid_enum(field: &str) -> Error {
    // An unknown name or number fails the proto's parsing and reads as 0, as the reference
    // reports it.
    Error::invalid(format!("Invalid {field}: 0"))
}

fn budget_unit(given: &str) -> Result<&'static str> {
    parse_unit(given).ok_or_else(|| invalid_enum("budget_unit"))
}

fn duration(given: &DurationIn) -> Result<BudgetDuration> {
    let unit_text = given.unit.as_deref().unwrap_or("0");
    let unit = parse_duration_unit(unit_text).ok_or_else(|| invalid_enum("duration.unit"))?;
    let value = given.value.unwrap_or(0);
    if value <= 0 {
        return Err(Error::invalid(format!(
            "duration.value must be a positive integer, got {value}"
        )));
    }
    let value = u32::try_from(value)
        .ok()
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "duration.value must be at most {}, got {value}",
                i32::MAX
            ))
        })?;
    Ok(BudgetDuration { unit, value })
}

fn target_scope(given: &str) -> Result<TargetScope> {
    TargetScope::parse(given).ok_or_else(|| invalid_enum("target_scope"))
}

fn budget_action(given: &str) -> Result<BudgetAction> {
    BudgetAction::parse(given).ok_or_else(|| invalid_enum("budget_action"))
}

fn amount(value: f64) -> Result<f64> {
    if value.is_finite() && (0.0..=MAX_BUDGET_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(format!(
            "budget_amount must be a number from 0 to {MAX_BUDGET_AMOUNT:e}, got {value}"
        )))
    }
}

/// What kind of limit a scope check is about, for its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitKind {
    Budget,
    RateLimit,
}

impl LimitKind {
    fn singular(self) -> &'static str {
        match self {
            Self::Budget => "budget policy",
            Self::RateLimit => "rate limit",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Budget => "budget policies",
            Self::RateLimit => "rate limits",
        }
    }
}

/// The reference's checks of a scope and its target, and Keel's of who may set it (shared by
/// budgets and rate limits).
pub(crate) fn check_target(
    kind: LimitKind,
    scope: TargetScope,
    target: Option<&str>,
    author: PolicyAuthor,
) -> Result<()> {
    if scope.targeted() {
        if target.is_none() {
            return Err(Error::invalid(format!(
                "target_value is required when target_scope is {}.",
                scope.as_str()
            )));
        }
    } else if target.is_some() {
        return Err(Error::invalid(
            "target_value can only be set when target_scope is ENDPOINT or USER.",
        ));
    }
    if target.is_some_and(|t| t.chars().count() > MAX_TARGET_CHARS) {
        return Err(Error::invalid(format!(
            "target_value must be at most {MAX_TARGET_CHARS} characters."
        )));
    }
    if scope == TargetScope::User && !author.users_authenticated {
        return Err(Error::invalid(format!(
            "USER-scoped {} require server authentication to be enabled. Without auth the \
             gateway cannot attribute requests to a user, so the policy would never take effect.",
            kind.plural()
        )));
    }
    global_needs_admin(kind, scope, author)
}

/// A GLOBAL limit holds every workspace: only a server administrator sets, changes or
/// deletes one.
pub(crate) fn global_needs_admin(
    kind: LimitKind,
    scope: TargetScope,
    author: PolicyAuthor,
) -> Result<()> {
    if scope == TargetScope::Global && !author.server_admin {
        return Err(Error::new(
            ErrorCode::PermissionDenied,
            format!(
                "Only a server administrator may create, change or delete a GLOBAL {}: it \
                 limits the calls of every workspace.",
                kind.singular()
            ),
        ));
    }
    Ok(())
}

fn required<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::missing_parameter(field))
}

fn policy_not_found(id: &str) -> Error {
    Error::not_found(format!("BudgetPolicy not found (budget_policy_id='{id}')"))
}

/// A given string, unless empty (proto3 leaves unset strings empty).
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The largest page of a policy listing, and the page when none is asked for.
pub const MAX_PAGE: i64 = 50_000;
pub const DEFAULT_PAGE: i64 = 1_000;

/// A listing's page size: `max_results` (absent or 0: [`DEFAULT_PAGE`]), at most [`MAX_PAGE`],
/// in the reference's words.
pub(crate) fn page_size(max_results: Option<i64>) -> Result<i64> {
    match max_results {
        None | Some(0) => Ok(DEFAULT_PAGE),
        Some(n) if n < 0 => Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        ))),
        Some(n) if n > MAX_PAGE => Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {MAX_PAGE}"
        ))),
        Some(n) => Ok(n),
    }
}

impl Gateway {
    pub async fn create_budget_policy(
        &self,
        workspace: &str,
        req: CreateBudgetPolicy,
        author: PolicyAuthor,
    ) -> Result<BudgetPolicy> {
        let unit = required("budget_unit", non_empty(req.budget_unit))?;
        let budget_amount = required("budget_amount", req.budget_amount)?;
        let given_duration = required("duration", req.duration)?;
        let scope = required("target_scope", non_empty(req.target_scope))?;
        let action = required("budget_action", non_empty(req.budget_action))?;
        budget_unit(&unit)?;
        let duration = duration(&given_duration)?;
        let target_scope = target_scope(&scope)?;
        let budget_action = budget_action(&action)?;
        let budget_amount = amount(budget_amount)?;
        let target_value = non_empty(req.target_value);
        check_target(
            LimitKind::Budget,
            target_scope,
            target_value.as_deref(),
            author,
        )?;
        if target_scope == TargetScope::Endpoint {
            self.endpoint_exists(workspace, target_value.as_deref().unwrap_or_default())
                .await?;
        }
        let now = self.now();
        let created_by = non_empty(req.created_by);
        let policy = BudgetPolicy {
            budget_policy_id: format!("bp-{}", uuid::Uuid::new_v4().simple()),
            workspace: workspace.to_owned(),
            budget_amount,
            duration,
            target_scope,
            target_value,
            budget_action,
            last_updated_by: created_by.clone(),
            created_by,
            created_at: now,
            last_updated_at: now,
        };
        self.store.insert_budget_policy(&policy).await?;
        keel_core::audit::scope::note_created("BudgetPolicy", &policy.budget_policy_id);
        self.limits_changed();
        Ok(policy)
    }

    async fn endpoint_exists(&self, workspace: &str, endpoint_id: &str) -> Result<()> {
        match self
            .store
            .get_endpoint(workspace, EndpointKey::Id(endpoint_id))
            .await?
        {
            Some(_) => Ok(()),
            None => Err(not_found(EndpointKey::Id(endpoint_id))),
        }
    }

    pub async fn get_budget_policy(
        &self,
        workspace: &str,
        budget_policy_id: Option<String>,
    ) -> Result<BudgetPolicy> {
        let id = required("budget_policy_id", non_empty(budget_policy_id))?;
        self.store
            .get_budget_policy(workspace, &id)
            .await?
            .ok_or_else(|| policy_not_found(&id))
    }

    pub async fn update_budget_policy(
        &self,
        workspace: &str,
        req: UpdateBudgetPolicy,
        author: PolicyAuthor,
    ) -> Result<BudgetPolicy> {
        let id = required("budget_policy_id", non_empty(req.budget_policy_id))?;
        if let Some(unit) = &req.budget_unit {
            budget_unit(unit)?;
        }
        let new_duration = req.duration.as_ref().map(duration).transpose()?;
        let new_scope = req.target_scope.as_deref().map(target_scope).transpose()?;
        let new_action = req
            .budget_action
            .as_deref()
            .map(budget_action)
            .transpose()?;
        let new_amount = req.budget_amount.map(amount).transpose()?;
        let mut policy = self
            .store
            .get_budget_policy(workspace, &id)
            .await?
            .ok_or_else(|| policy_not_found(&id))?;
        // A GLOBAL policy is a server administrator's, whatever it becomes.
        global_needs_admin(LimitKind::Budget, policy.target_scope, author)?;
        let target_given = req.target_value.is_some();
        if new_scope.is_some() || target_given {
            let scope = new_scope.unwrap_or(policy.target_scope);
            // A target carries over only within the same scope.
            let inherited = policy
                .target_value
                .clone()
                .filter(|_| scope == policy.target_scope);
            let target = if target_given {
                non_empty(req.target_value)
            } else {
                inherited
            };
            check_target(LimitKind::Budget, scope, target.as_deref(), author)?;
            if scope == TargetScope::Endpoint && target != policy.target_value {
                self.endpoint_exists(workspace, target.as_deref().unwrap_or_default())
                    .await?;
            }
            policy.target_scope = scope;
            policy.target_value = target;
        }
        if let Some(d) = new_duration {
            policy.duration = d;
        }
        if let Some(a) = new_action {
            policy.budget_action = a;
        }
        if let Some(a) = new_amount {
            policy.budget_amount = a;
        }
        if let Some(by) = non_empty(req.updated_by) {
            policy.last_updated_by = Some(by);
        }
        policy.last_updated_at = self.now();
        if !self.store.update_budget_policy(&policy).await? {
            return Err(policy_not_found(&id));
        }
        self.limits_changed();
        Ok(policy)
    }

    pub async fn delete_budget_policy(
        &self,
        workspace: &str,
        budget_policy_id: Option<String>,
        author: PolicyAuthor,
    ) -> Result<()> {
        let id = required("budget_policy_id", non_empty(budget_policy_id))?;
        let policy = self
            .store
            .get_budget_policy(workspace, &id)
            .await?
            .ok_or_else(|| policy_not_found(&id))?;
        global_needs_admin(LimitKind::Budget, policy.target_scope, author)?;
        if !self.store.delete_budget_policy(workspace, &id).await? {
            return Err(policy_not_found(&id));
        }
        self.limits_changed();
        Ok(())
    }

    /// A page of the workspace's policies, by ID.
    pub async fn list_budget_policies(
        &self,
        workspace: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<BudgetPolicy>> {
        let limit = page_size(max_results)?;
        let offset = keel_core::paging::decode(page_token)?;
        let rows = self
            .store
            .list_budget_policies(workspace, offset, limit + 1)
            .await?;
        Ok(keel_core::paging::page_from(rows, offset, limit))
    }

    /// The current window of every policy a workspace sees (its own and every GLOBAL one),
    /// with what has been spent and what is held in it.
    pub async fn budget_windows(&self, workspace: &str) -> Result<Vec<BudgetWindow>> {
        let now = self.now();
        let policies: Vec<BudgetPolicy> = self
            .store
            .all_budget_policies()
            .await?
            .into_iter()
            .filter(|p| p.workspace == workspace || p.target_scope == TargetScope::Global)
            .collect();
        let windows: Vec<Window> = policies.iter().map(|p| p.duration.window(now)).collect();
        let keys: Vec<(String, i64)> = policies
            .iter()
            .zip(&windows)
            .map(|(p, w)| (p.budget_policy_id.clone(), w.start_ms))
            .collect();
        let usage = self.store.limit_usage(&keys).await?;
        Ok(policies
            .into_iter()
            .zip(windows)
            .zip(usage)
            .map(|((p, window), (used, held))| BudgetWindow {
                window,
                budget_policy_id: p.budget_policy_id,
                current_spend: crate::limits::usd(used),
                reserved_spend: crate::limits::usd(held),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: LimitKind = LimitKind::Budget;
    const ADMIN: PolicyAuthor = PolicyAuthor {
        server_admin: true,
        users_authenticated: true,
    };

    #[test]
    fn enums_take_names_or_numbers_and_report_unknown_ones_as_zero() {
        assert_eq!(target_scope("3").expect("3"), TargetScope::Endpoint);
        assert_eq!(budget_action("REJECT").expect("r"), BudgetAction::Reject);
        assert_eq!(
            budget_unit("EUR").expect_err("eur").message,
            "Invalid budget_unit: 0"
        );
        assert_eq!(
            target_scope("7").expect_err("7").message,
            "Invalid target_scope: 0"
        );
        let d = duration(&DurationIn {
            unit: Some("2".into()),
            value: Some(3),
        })
        .expect("3 hours");
        assert_eq!(d.unit, DurationUnit::Hours);
        assert_eq!(
            duration(&DurationIn {
                unit: Some("DAYS".into()),
                value: Some(0),
            })
            .expect_err("0")
            .message,
            "duration.value must be a positive integer, got 0"
        );
        assert!(
            duration(&DurationIn {
                unit: Some("DAYS".into()),
                value: Some(1 << 40),
            })
            .is_err()
        );
    }

    #[test]
    fn targets_follow_their_scope_and_global_is_for_server_admins() {
        assert!(check_target(B, TargetScope::Endpoint, None, ADMIN).is_err());
        assert!(check_target(B, TargetScope::Workspace, Some("x"), ADMIN).is_err());
        check_target(B, TargetScope::User, Some("alice"), ADMIN).expect("user");
        let open = PolicyAuthor {
            server_admin: true,
            users_authenticated: false,
        };
        assert!(check_target(B, TargetScope::User, Some("alice"), open).is_err());
        let workspace_admin = PolicyAuthor {
            server_admin: false,
            users_authenticated: true,
        };
        let denied = check_target(B, TargetScope::Global, None, workspace_admin).expect_err("no");
        assert_eq!(denied.code, ErrorCode::PermissionDenied);
        check_target(B, TargetScope::Workspace, None, workspace_admin).expect("own workspace");
        let rate = check_target(
            LimitKind::RateLimit,
            TargetScope::Global,
            None,
            workspace_admin,
        )
        .expect_err("rate");
        assert!(
            rate.message.contains("GLOBAL rate limit"),
            "{}",
            rate.message
        );
    }

    #[test]
    fn amounts_are_finite_and_bounded() {
        assert!(amount(f64::NAN).is_err());
        assert!(amount(-1.0).is_err());
        assert!(amount(1e13).is_err());
        assert_eq!(amount(0.000001).expect("tiny"), 0.000001);
    }
}

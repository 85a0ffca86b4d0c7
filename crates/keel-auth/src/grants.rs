//! Grants and how they resolve to a permission level, as the reference resolves them.
//!
//! A grant is a row `(resource type, pattern, permission)` on a role; a user holds the grants
//! of the roles assigned to them in the workspace being resolved (a per-user grant lives on
//! the user's own role). To resolve a resource:
//! 1. a `(workspace, "*", MANAGE)` grant makes its holder a workspace administrator: MANAGE
//!    on everything;
//! 2. the grants on one key `(type, id)` are those of that type whose pattern is `*` or the
//!    ID; among them DENY wins, else the highest level;
//! 3. a resource is resolved along rungs — its own key, then its parents' (a run's type-wide
//!    key, then its experiment) — and the first rung holding any grant decides (a narrower
//!    grant overrides its parent both ways). A positive level is raised to the default
//!    permission; no grant at all gives the `absent` level.

use keel_core::{Error, Result};

use crate::permission::Permission;

/// The resource types grants name, as the reference spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    Assessment,
    Experiment,
    GatewayEndpoint,
    GatewayModelDefinition,
    GatewaySecret,
    LoggedModel,
    McpServer,
    McpServerVersion,
    Prompt,
    PromptVersion,
    RegisteredModel,
    RegisteredModelVersion,
    ReviewQueue,
    Run,
    Scorer,
    ScorerVersion,
    Trace,
    Workspace,
}

impl GrantType {
    pub const ALL: [Self; 18] = [
        Self::Assessment,
        Self::Experiment,
        Self::GatewayEndpoint,
        Self::GatewayModelDefinition,
        Self::GatewaySecret,
        Self::LoggedModel,
        Self::McpServer,
        Self::McpServerVersion,
        Self::Prompt,
        Self::PromptVersion,
        Self::RegisteredModel,
        Self::RegisteredModelVersion,
        Self::ReviewQueue,
        Self::Run,
        Self::Scorer,
        Self::ScorerVersion,
        Self::Trace,
        Self::Workspace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assessment => "assessment",
            Self::Experiment => "experiment",
            Self::GatewayEndpoint => "gateway_endpoint",
            Self::GatewayModelDefinition => "gateway_model_definition",
            Self::GatewaySecret => "gateway_secret",
            Self::LoggedModel => "logged_model",
            Self::McpServer => "mcp_server",
            Self::McpServerVersion => "mcp_server_version",
            Self::Prompt => "prompt",
            Self::PromptVersion => "prompt_version",
            Self::RegisteredModel => "registered_model",
            Self::RegisteredModelVersion => "registered_model_version",
            Self::ReviewQueue => "review_queue",
            Self::Run => "run",
            Self::Scorer => "scorer",
            Self::ScorerVersion => "scorer_version",
            Self::Trace => "trace",
            Self::Workspace => "workspace",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL
                    .iter()
                    .map(|t| format!("'{}'", t.as_str()))
                    .collect();
                Error::invalid(format!(
                    "Invalid resource type '{name}'. Valid resource types are: ({})",
                    names.join(", ")
                ))
            })
    }

    /// Whether grants of this type may name one resource (else only `*`).
    pub fn takes_ids(self) -> bool {
        matches!(
            self,
            Self::Experiment
                | Self::RegisteredModel
                | Self::Prompt
                | Self::Scorer
                | Self::GatewaySecret
                | Self::GatewayEndpoint
                | Self::GatewayModelDefinition
                | Self::McpServer
        )
    }
}

/// One grant row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub resource_type: GrantType,
    /// `*` or one resource's ID (an experiment ID, a model's name, `<experiment>/<scorer>`).
    pub pattern: String,
    pub permission: Permission,
}

impl Grant {
    /// Checks a grant as the reference does before storing it.
    pub fn validate(resource_type: GrantType, pattern: &str, permission: Permission) -> Result<()> {
        let t = resource_type.as_str();
        if pattern.is_empty() {
            return Err(Error::invalid(format!(
                "Invalid resource_pattern '' for resource_type='{t}'."
            )));
        }
        if pattern != "*" && !resource_type.takes_ids() {
            return Err(Error::invalid(format!(
                "Invalid resource_pattern '{pattern}' for resource_type='{t}'. This resource \
                 type supports only wildcard ('*') grants."
            )));
        }
        if resource_type == GrantType::Workspace {
            if !matches!(permission, Permission::Use | Permission::Manage) {
                return Err(Error::invalid(format!(
                    "Invalid permission '{}' for resource_type='workspace'. Workspace-wide \
                     grants accept only: ('MANAGE', 'USE').",
                    permission.as_str()
                )));
            }
        } else if permission == Permission::NoPermissions {
            return Err(Error::invalid(format!(
                "Invalid permission 'NO_PERMISSIONS' for resource_type='{t}'. Resource-level \
                 grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
            )));
        }
        Ok(())
    }
}

/// A key grants are looked up by: a type and one resource's ID, or the whole type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    pub resource_type: GrantType,
    /// `None` for the type-wide key `*`.
    pub id: Option<&'a str>,
}

impl<'a> Key<'a> {
    pub fn of(resource_type: GrantType, id: &'a str) -> Self {
        Self {
            resource_type,
            id: Some(id),
        }
    }
    pub fn any(resource_type: GrantType) -> Self {
        Self {
            resource_type,
            id: None,
        }
    }
}

/// The levels that apply when nothing is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// Every positive grant is at least this (the reference's `default_permission`).
    pub default_permission: Permission,
    /// The level of a resource no grant reaches.
    pub absent: Permission,
    /// Whether creating needs membership (a `(workspace, *)` grant of USE or more): in every
    /// workspace but `default`.
    pub members_only: bool,
}

impl Defaults {
    /// Without workspaces, as the reference: a resource nobody granted has the default.
    pub fn without_workspaces(default_permission: Permission) -> Self {
        Self {
            default_permission,
            absent: default_permission,
            members_only: false,
        }
    }

    /// In `workspace`: `default` as without workspaces; in any other, as the reference with
    /// workspaces on, nothing is reachable without a grant there and only members create.
    pub fn in_workspace(default_permission: Permission, workspace: &str) -> Self {
        if workspace == keel_core::workspaces::DEFAULT_WORKSPACE {
            return Self::without_workspaces(default_permission);
        }
        Self {
            default_permission,
            absent: Permission::NoPermissions,
            members_only: true,
        }
    }
}

/// The grants a user holds in one workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    pub grants: Vec<Grant>,
}

impl Holdings {
    pub fn new(grants: Vec<Grant>) -> Self {
        Self { grants }
    }

    /// Whether a `(workspace, *)` grant of USE or more makes the holder a member, who may
    /// create in the workspace.
    pub fn is_member(&self) -> bool {
        self.fold(Key::any(GrantType::Workspace))
            .is_some_and(|p| p != Permission::Deny && p >= Permission::Use)
    }

    /// Whether a `(workspace, *, MANAGE)` grant makes the holder a workspace administrator.
    pub fn is_workspace_admin(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.resource_type == GrantType::Workspace && g.permission == Permission::Manage)
    }

    /// The grants on one key folded: DENY if any is DENY, else the highest; `None` when none
    /// applies.
    pub fn fold(&self, key: Key<'_>) -> Option<Permission> {
        let mut folded: Option<Permission> = None;
        for g in &self.grants {
            let matches = g.resource_type == key.resource_type
                && (g.pattern == "*" || (key.id == Some(g.pattern.as_str())));
            if !matches {
                continue;
            }
            if g.permission == Permission::Deny {
                return Some(Permission::Deny);
            }
            folded = Some(folded.map_or(g.permission, |f| f.max(g.permission)));
        }
        folded
    }

    /// The level along `rungs` (the resource's own key first, then its parents'): the first
    /// rung holding a grant decides.
    pub fn resolve(&self, rungs: &[Key<'_>], defaults: Defaults) -> Permission {
        if self.is_workspace_admin() {
            return Permission::Manage;
        }
        for rung in rungs {
            if let Some(p) = self.fold(*rung) {
                return if p == Permission::Deny {
                    Permission::Deny
                } else {
                    p.max(defaults.default_permission)
                };
            }
        }
        match defaults.absent {
            Permission::NoPermissions | Permission::Deny => defaults.absent,
            absent => absent.max(defaults.default_permission),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GrantType as T;
    use Permission as P;

    fn g(t: GrantType, pattern: &str, p: Permission) -> Grant {
        Grant {
            resource_type: t,
            pattern: pattern.into(),
            permission: p,
        }
    }

    #[test]
    fn deny_beats_other_levels_on_one_key_and_ids_or_wildcards_match() {
        let h = Holdings::new(vec![
            g(T::Experiment, "1", P::Manage),
            g(T::Experiment, "*", P::Deny),
            g(T::RegisteredModel, "m", P::Edit),
            g(T::RegisteredModel, "*", P::Read),
        ]);
        assert_eq!(h.fold(Key::of(T::Experiment, "1")), Some(P::Deny));
        assert_eq!(h.fold(Key::of(T::RegisteredModel, "m")), Some(P::Edit));
        assert_eq!(h.fold(Key::of(T::RegisteredModel, "n")), Some(P::Read));
        assert_eq!(h.fold(Key::of(T::Prompt, "m")), None);
    }

    #[test]
    fn the_narrowest_rung_with_a_grant_decides_both_ways() {
        let defaults = Defaults::without_workspaces(P::NoPermissions);
        let h = Holdings::new(vec![
            g(T::Experiment, "1", P::Edit),
            g(T::Run, "*", P::Read),
        ]);
        let run_rungs = [Key::any(T::Run), Key::of(T::Experiment, "1")];
        assert_eq!(h.resolve(&run_rungs, defaults), P::Read, "run tier narrows");
        let h = Holdings::new(vec![
            g(T::Experiment, "1", P::Read),
            g(T::Run, "*", P::Edit),
        ]);
        assert_eq!(h.resolve(&run_rungs, defaults), P::Edit, "run tier widens");
        let h = Holdings::new(vec![g(T::Experiment, "1", P::Edit)]);
        assert_eq!(h.resolve(&run_rungs, defaults), P::Edit, "falls back");
        assert_eq!(
            Holdings::default().resolve(&run_rungs, defaults),
            P::NoPermissions
        );
    }

    #[test]
    fn defaults_floor_positive_grants_and_workspace_admins_hold_everything() {
        let read = Defaults::without_workspaces(P::Read);
        let exp = [Key::of(T::Experiment, "1")];
        assert_eq!(Holdings::default().resolve(&exp, read), P::Read);
        let h = Holdings::new(vec![g(T::Experiment, "1", P::Deny)]);
        assert_eq!(h.resolve(&exp, read), P::Deny);
        let h = Holdings::new(vec![
            g(T::Experiment, "1", P::Deny),
            g(T::Workspace, "*", P::Manage),
        ]);
        assert_eq!(h.resolve(&exp, read), P::Manage);
    }

    #[test]
    fn grants_are_validated_in_the_references_words() {
        assert!(Grant::validate(T::Experiment, "1", P::Edit).is_ok());
        let e = Grant::validate(T::Run, "r1", P::Read).expect_err("ids");
        assert!(e.message.contains("only wildcard"), "{}", e.message);
        let e = Grant::validate(T::Workspace, "*", P::Read).expect_err("workspace");
        assert!(e.message.contains("('MANAGE', 'USE')"), "{}", e.message);
        let e = Grant::validate(T::Experiment, "1", P::NoPermissions).expect_err("none");
        assert!(e.message.contains("Resource-level"), "{}", e.message);
        let e = GrantType::parse("experiments").expect_err("unknown");
        assert!(e.message.contains("'workspace')"), "{}", e.message);
    }
}

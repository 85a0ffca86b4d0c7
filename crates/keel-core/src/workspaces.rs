//! Workspaces, as MLflow serves them: named partitions of a deployment that every experiment
//! (and everything in it) belongs to, chosen per request by the `X-MLFLOW-WORKSPACE` header.
//! Names are DNS labels; `default` always exists and holds everything made without a header.
//!
//! This module holds the names, the rules and the catalogue service; the server resolves each
//! request's workspace and the stores scope names and searches by it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, ErrorCode, Result};
use crate::validation::validate_artifact_location;

/// The workspace every resource is in when no workspace is named.
pub const DEFAULT_WORKSPACE: &str = "default";
/// The request header naming the workspace (HTTP header names are case-insensitive).
pub const WORKSPACE_HEADER: &str = "x-mlflow-workspace";
/// Names a workspace may not take: the first segments of Keel's own URLs.
const RESERVED: [&str; 4] = ["workspaces", "api", "ajax-api", "static-files"];
/// The description the `default` workspace is created with.
pub const DEFAULT_WORKSPACE_DESCRIPTION: &str = "Default workspace for legacy resources";

/// A workspace of the catalogue (by default, `default` as it starts out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub name: String,
    pub description: Option<String>,
    /// Where new experiments of this workspace keep their artifacts (`<root>/<experiment_id>`);
    /// unset, they go under the server's root at `workspaces/<name>/<experiment_id>`.
    pub default_artifact_root: Option<String>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self {
            name: DEFAULT_WORKSPACE.to_owned(),
            description: Some(DEFAULT_WORKSPACE_DESCRIPTION.to_owned()),
            default_artifact_root: None,
        }
    }
}

impl Workspace {
    /// The default artifact location of experiment `experiment_id` made in this workspace,
    /// `server_root` being the server's artifact root: under the workspace's own root, else
    /// under `workspaces/<name>/` of the server's (`default` keeps the server's root as is).
    pub fn experiment_artifact_location(&self, server_root: &str, experiment_id: &str) -> String {
        match &self.default_artifact_root {
            Some(root) => format!("{}/{experiment_id}", root.trim_end_matches('/')),
            None if self.name == DEFAULT_WORKSPACE => format!("{server_root}/{experiment_id}"),
            None => format!("{server_root}/workspaces/{}/{experiment_id}", self.name),
        }
    }
}

/// Changes to a workspace; `None` leaves a field as it is, and an empty artifact root clears
/// the workspace's own.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceUpdate {
    pub description: Option<String>,
    pub default_artifact_root: Option<String>,
}

/// What deleting a workspace does with what is still in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionMode {
    /// Refuse while the workspace holds anything (deleted experiments count).
    Restrict,
    /// Delete everything in it for good (the server then removes the artifact folder it kept
    /// for the workspace).
    Cascade,
    /// Move everything to `default`, refused when a name is taken there.
    SetDefault,
}

impl DeletionMode {
    /// The `mode` query parameter, exactly as the reference spells it.
    pub fn parse(mode: &str) -> Result<Self> {
        match mode {
            "RESTRICT" => Ok(Self::Restrict),
            "CASCADE" => Ok(Self::Cascade),
            "SET_DEFAULT" => Ok(Self::SetDefault),
            other => Err(Error::invalid(format!(
                "Invalid deletion mode '{other}'. Must be one of: SET_DEFAULT, CASCADE, RESTRICT"
            ))),
        }
    }
}

/// Checks a workspace name as the reference does (`default` passes; creating or deleting it is
/// refused elsewhere).
pub fn validate_workspace_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if !(2..=63).contains(&n) {
        return Err(Error::invalid(format!(
            "Workspace name '{name}' must be between 2 and 63 characters."
        )));
    }
    let b = name.as_bytes();
    let inner_ok = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    let ends_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !inner_ok || !ends_ok(b[0]) || !ends_ok(b[b.len() - 1]) {
        return Err(Error::invalid(format!(
            "Workspace name '{name}' must match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ \
             (lowercase alphanumeric with optional internal hyphens)."
        )));
    }
    if RESERVED.contains(&name) {
        return Err(Error::invalid(format!(
            "Workspace name '{name}' is reserved and cannot be used."
        )));
    }
    Ok(())
}

/// The persistence behind the workspace catalogue. Every method is one transaction.
#[async_trait]
pub trait WorkspaceStore: Send + Sync + 'static {
    /// Every workspace, by name.
    async fn list_workspaces(&self) -> Result<Vec<Workspace>>;
    async fn get_workspace(&self, name: &str) -> Result<Option<Workspace>>;
    /// Fails with RESOURCE_ALREADY_EXISTS when the name is taken.
    async fn insert_workspace(&self, workspace: &Workspace) -> Result<()>;
    /// Replaces the stored description and artifact root; false when there is no such workspace.
    async fn update_workspace(&self, workspace: &Workspace) -> Result<bool>;
    /// Deletes the workspace and deals with its contents by `mode`, all or nothing. Refusals are
    /// INVALID_STATE naming what is in the way; a workspace that does not exist (or has just
    /// gone) is RESOURCE_DOES_NOT_EXIST.
    async fn delete_workspace(&self, name: &str, mode: DeletionMode) -> Result<()>;
}

/// The workspace catalogue's domain functions.
#[derive(Clone)]
pub struct Workspaces {
    store: Arc<dyn WorkspaceStore>,
    /// Whether requests may name workspaces at all (`enable_workspaces`).
    enabled: bool,
}

impl std::fmt::Debug for Workspaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspaces")
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// RESOURCE_DOES_NOT_EXIST for a workspace, in the reference's words.
pub fn not_found(name: &str) -> Error {
    Error::not_found(format!("Workspace '{name}' not found"))
}

/// A workspace's own artifact root as given: trimmed, and `None` when blank.
fn artifact_root(given: Option<String>) -> Result<Option<String>> {
    match given.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) {
        Some(root) => {
            validate_artifact_location(&root)?;
            Ok(Some(root))
        }
        None => Ok(None),
    }
}

impl Workspaces {
    pub fn new(store: Arc<dyn WorkspaceStore>, enabled: bool) -> Self {
        Self { store, enabled }
    }

    /// Whether workspaces are served (`enable_workspaces`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub async fn list(&self) -> Result<Vec<Workspace>> {
        self.store.list_workspaces().await
    }

    pub async fn get(&self, name: &str) -> Result<Workspace> {
        if name != DEFAULT_WORKSPACE {
            validate_workspace_name(name)?;
        }
        self.store
            .get_workspace(name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    pub async fn create(&self, workspace: Workspace) -> Result<Workspace> {
        if workspace.name.is_empty() {
            return Err(Error::missing_parameter("name"));
        }
        if workspace.name == DEFAULT_WORKSPACE {
            return Err(Error::invalid(
                "The 'default' workspace is reserved and cannot be created",
            ));
        }
        validate_workspace_name(&workspace.name)?;
        let workspace = Workspace {
            default_artifact_root: artifact_root(workspace.default_artifact_root)?,
            ..workspace
        };
        self.store.insert_workspace(&workspace).await?;
        Ok(workspace)
    }

    pub async fn update(&self, name: &str, update: WorkspaceUpdate) -> Result<Workspace> {
        if update.description.is_none() && update.default_artifact_root.is_none() {
            return Err(Error::invalid(
                "Workspace update must have at least one key",
            ));
        }
        let mut workspace = self.get(name).await?;
        if let Some(description) = update.description {
            workspace.description = Some(description);
        }
        if let Some(root) = update.default_artifact_root {
            workspace.default_artifact_root = artifact_root(Some(root))?;
        }
        if !self.store.update_workspace(&workspace).await? {
            return Err(not_found(name));
        }
        Ok(workspace)
    }

    pub async fn delete(&self, name: &str, mode: DeletionMode) -> Result<()> {
        if name == DEFAULT_WORKSPACE {
            return Err(Error::invalid(
                "The 'default' workspace is reserved and cannot be deleted",
            ));
        }
        validate_workspace_name(name)?;
        self.store.delete_workspace(name, mode).await
    }
}

/// INVALID_STATE for a RESTRICT deletion of a workspace that still holds resources.
pub fn not_empty(name: &str, table: &str, count: i64) -> Error {
    Error::new(
        ErrorCode::InvalidState,
        format!(
            "Cannot delete workspace '{name}': table '{table}' still contains {count} \
             resource(s). Remove or reassign them before deleting the workspace."
        ),
    )
}

/// INVALID_STATE for a SET_DEFAULT deletion whose resources' names are taken in `default`.
pub fn names_taken_in_default(name: &str, conflicts: &[String]) -> Error {
    Error::new(
        ErrorCode::InvalidState,
        format!(
            "Cannot reassign resources from workspace '{name}' to 'default': the following \
             names already exist in the default workspace: {}",
            conflicts.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_reference_rules() {
        for ok in ["ab", "team-a", "a1", "0x", &"a".repeat(63), "default"] {
            assert!(validate_workspace_name(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("a", "between 2 and 63"),
            (&"a".repeat(64), "between 2 and 63"),
            ("Team", "must match"),
            ("-ab", "must match"),
            ("ab-", "must match"),
            ("a_b", "must match"),
            ("a b", "must match"),
            ("ä1", "must match"),
            ("api", "reserved"),
            ("workspaces", "reserved"),
            ("static-files", "reserved"),
        ] {
            let e = validate_workspace_name(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidParameterValue);
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn deletion_modes_are_exact() {
        assert_eq!(DeletionMode::parse("CASCADE"), Ok(DeletionMode::Cascade));
        assert_eq!(
            DeletionMode::parse("SET_DEFAULT"),
            Ok(DeletionMode::SetDefault)
        );
        assert_eq!(DeletionMode::parse("RESTRICT"), Ok(DeletionMode::Restrict));
        let e = DeletionMode::parse("cascade").expect_err("case matters");
        assert!(e.message.contains("Invalid deletion mode 'cascade'"));
    }
}

//! The identity store trait: accounts, tokens, roles, grants and assignments.
//!
//! Stores persist what they are given; uniqueness is theirs to enforce (a duplicate is
//! RESOURCE_ALREADY_EXISTS with the reference's message, a missing row RESOURCE_DOES_NOT_EXIST).
//! Every method is one transaction.

use async_trait::async_trait;
use keel_core::Result;

use crate::entities::*;
use crate::grants::{Grant, GrantType, Holdings, Key};
use crate::permission::Permission;

/// Whose grants a question is about: an account, and the groups an identity provider says it
/// is in (a group holds the role of the same name in the workspace, when there is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'a> {
    pub user_id: i64,
    pub groups: &'a [String],
}

impl Holder<'static> {
    /// An account alone, without groups.
    pub fn user(user_id: i64) -> Self {
        Self {
            user_id,
            groups: &[],
        }
    }
}

/// Changes to a role; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// How many accounts exist.
    async fn count_users(&self) -> Result<i64>;
    /// Inserts an account; RESOURCE_ALREADY_EXISTS if the username is taken.
    async fn insert_user(&self, user: &NewUser) -> Result<User>;
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    /// Every account, by ID.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Replaces an account's display name, email, admin flag and password hash.
    async fn update_user(&self, user: &User) -> Result<()>;
    /// Deletes an account with its tokens, its assignments and its own roles.
    async fn delete_user(&self, id: i64) -> Result<()>;

    async fn insert_token(&self, token: &ApiToken) -> Result<()>;
    /// A token with its owner.
    async fn token(&self, id: &str) -> Result<Option<(ApiToken, User)>>;
    /// An account's tokens, newest first.
    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>>;
    /// Marks a token revoked; RESOURCE_DOES_NOT_EXIST if there is no such token.
    async fn revoke_token(&self, id: &str, now: i64) -> Result<()>;
    /// Records when tokens were last used (IDs with their time).
    async fn touch_tokens(&self, used: &[(String, i64)]) -> Result<()>;
    /// Deletes the tokens (web UI sessions included) that expired or were revoked before
    /// `cutoff` (ms); returns how many went.
    async fn purge_tokens(&self, cutoff: i64) -> Result<u64>;

    /// Inserts a role; RESOURCE_ALREADY_EXISTS if the workspace has one of that name.
    async fn insert_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role>;
    async fn role(&self, id: i64) -> Result<Option<Role>>;
    /// Roles in any of `workspaces` (all roles when `None`), by ID.
    async fn list_roles(&self, workspaces: Option<&[String]>) -> Result<Vec<Role>>;
    async fn update_role(&self, id: i64, update: &RoleUpdate) -> Result<Role>;
    /// Deletes a role with its grants and assignments.
    async fn delete_role(&self, id: i64) -> Result<()>;
    async fn add_role_permission(&self, role_id: i64, grant: &Grant) -> Result<RolePermission>;
    async fn role_permission(&self, id: i64) -> Result<Option<RolePermission>>;
    async fn update_role_permission(
        &self,
        id: i64,
        permission: Permission,
    ) -> Result<RolePermission>;
    async fn remove_role_permission(&self, id: i64) -> Result<()>;
    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<Assignment>;
    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()>;
    async fn role_assignments(&self, role_id: i64) -> Result<Vec<Assignment>>;
    /// The roles assigned to an account, by ID.
    async fn user_roles(&self, user_id: i64) -> Result<Vec<Role>>;

    /// Adds a grant to the account's own role in `workspace` (created and assigned on first
    /// use). With `replace`, an existing grant on the same type and pattern takes the new
    /// level; without it, an existing grant is RESOURCE_ALREADY_EXISTS.
    async fn grant_user(
        &self,
        user_id: i64,
        workspace: &str,
        grant: &Grant,
        replace: bool,
    ) -> Result<()>;
    /// Removes a grant from the account's own role; whether there was one.
    async fn revoke_user(
        &self,
        user_id: i64,
        workspace: &str,
        resource_type: GrantType,
        pattern: &str,
    ) -> Result<bool>;
    /// Renames a pattern in every role (a registered model renamed), for these types.
    async fn rename_grants(&self, types: &[GrantType], from: &str, to: &str) -> Result<()>;

    /// The grants in `workspace` of the holder's roles (assigned to the account, or named as
    /// one of its groups) that can bear on `keys`: those on each key's type with pattern `*`
    /// or the key's ID, and every workspace grant.
    async fn holdings(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        keys: &[Key<'_>],
    ) -> Result<Holdings>;

    /// The grants in `workspace` that bear on resource `id` of `resource_type` (on it, on its
    /// whole type, and workspace MANAGE grants), each with its role and the accounts assigned
    /// to it, by role name; reads at most `limit` (grant, account) rows.
    async fn resource_holders(
        &self,
        workspace: &str,
        resource_type: GrantType,
        id: &str,
        limit: i64,
    ) -> Result<Vec<ResourceHolder>>;

    /// Every grant the holder's roles hold in `workspace` on these types (what filters a
    /// search: as many rows as the holder has grants, never as many as there are resources).
    async fn grants_of_types(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        types: &[GrantType],
    ) -> Result<Holdings>;
}

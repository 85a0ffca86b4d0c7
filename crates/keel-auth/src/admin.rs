//! Administration of accounts, roles and grants, with the reference's rules and messages:
//! what the auth REST API and the CLI call.

use keel_core::{Error, ErrorCode, Result};

use crate::entities::{
    Assignment, ResourceHolder, Role, RolePermission, USER_ROLE_PREFIX, User, is_user_role,
};
use crate::grants::{Defaults, Grant, GrantType, Key};
use crate::permission::Permission;
use crate::service::{Auth, Principal};
use crate::store::{Holder, RoleUpdate};

/// One grant a user holds, through one of their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRow {
    pub role_id: i64,
    pub role_name: String,
    pub workspace: String,
    pub grant: Grant,
}

/// The resource types the per-user grant API takes a single resource of.
const PER_USER_TYPES: [GrantType; 7] = [
    GrantType::Experiment,
    GrantType::RegisteredModel,
    GrantType::Scorer,
    GrantType::GatewaySecret,
    GrantType::GatewayEndpoint,
    GrantType::GatewayModelDefinition,
    GrantType::McpServer,
];

/// The most (grant, account) rows "who has access" reads for one resource.
pub const MAX_HOLDER_ROWS: i64 = 5000;

/// Who has access to one resource: what its managers see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The grants that bear on it, with their roles and those roles' accounts.
    pub holders: Vec<ResourceHolder>,
    /// The level of a signed-in user no grant reaches (administrators have every level).
    pub absent: Permission,
    /// Every positive grant is at least this.
    pub default_permission: Permission,
    /// Whether there were more than [`MAX_HOLDER_ROWS`] rows to show.
    pub truncated: bool,
}

/// A type whose resources have grants of their own, parsed.
fn per_resource_type(resource_type: &str) -> Result<GrantType> {
    let t = GrantType::parse(resource_type)?;
    if !PER_USER_TYPES.contains(&t) && t != GrantType::Prompt {
        return Err(Error::invalid(format!(
            "Invalid value {resource_type} for parameter 'resource_type' supplied: it must be \
             experiment, registered_model, prompt or another type with per-resource grants."
        )));
    }
    Ok(t)
}

impl Auth {
    /// Who has access to resource `id` of `resource_type` in `workspace`: the grants on it,
    /// on its whole type and of workspace administrators, with whom their roles are assigned
    /// to, and what everyone else signed in gets.
    pub async fn who_has_access(
        &self,
        workspace: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Access> {
        let t = per_resource_type(resource_type)?;
        if id.is_empty() || id == "*" {
            return Err(Error::invalid(
                "Who has access is asked of one resource: 'resource_id' must name it.",
            ));
        }
        let holders = self
            .store()
            .resource_holders(workspace, t, id, MAX_HOLDER_ROWS + 1)
            .await?;
        let rows: usize = holders.iter().map(|h| h.usernames.len().max(1)).sum();
        let defaults = Defaults::in_workspace(self.settings().default_permission, workspace);
        Ok(Access {
            holders,
            absent: defaults.absent,
            default_permission: defaults.default_permission,
            truncated: i64::try_from(rows).unwrap_or(i64::MAX) > MAX_HOLDER_ROWS,
        })
    }

    /// Deletes an account; nobody deletes their own.
    pub async fn delete_user(&self, caller: &Principal, username: &str) -> Result<()> {
        let user = self.user(username).await?;
        if user.id == caller.user.id {
            return Err(Error::new(
                ErrorCode::BadRequest,
                "Users cannot delete their own account. Ask another admin to delete this user \
                 instead.",
            ));
        }
        self.store().delete_user(user.id).await
    }

    /// Creates a role in a workspace.
    pub async fn create_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role> {
        check_role_name(name)?;
        if workspace.trim().is_empty() {
            return Err(Error::invalid("Workspace cannot be empty."));
        }
        self.store().insert_role(workspace, name, description).await
    }

    /// A role, or RESOURCE_DOES_NOT_EXIST.
    pub async fn role(&self, id: i64) -> Result<Role> {
        self.store()
            .role(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("Role with id={id} not found")))
    }

    pub async fn update_role(&self, id: i64, update: &RoleUpdate) -> Result<Role> {
        if update.name.is_none() && update.description.is_none() {
            return Err(Error::invalid(
                "At least one of 'name' or 'description' must be provided to update a role.",
            ));
        }
        if let Some(name) = &update.name {
            check_role_name(name)?;
        }
        self.store().update_role(id, update).await
    }

    /// Adds a grant to a role, validated as the reference validates it.
    pub async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        pattern: &str,
        permission: &str,
    ) -> Result<RolePermission> {
        let grant = parse_grant(resource_type, pattern, permission)?;
        self.store().add_role_permission(role_id, &grant).await
    }

    /// A role's grant, or RESOURCE_DOES_NOT_EXIST.
    pub async fn role_permission(&self, id: i64) -> Result<RolePermission> {
        self.store()
            .role_permission(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("Role permission with id={id} not found")))
    }

    pub async fn update_role_permission(
        &self,
        id: i64,
        permission: &str,
    ) -> Result<RolePermission> {
        let existing = self.role_permission(id).await?;
        let permission = Permission::parse(permission)?;
        Grant::validate(
            existing.grant.resource_type,
            &existing.grant.pattern,
            permission,
        )?;
        self.store().update_role_permission(id, permission).await
    }

    pub async fn assign_role(&self, username: &str, role_id: i64) -> Result<Assignment> {
        let user = self.user(username).await?;
        self.store().assign_role(user.id, role_id).await
    }

    pub async fn unassign_role(&self, username: &str, role_id: i64) -> Result<()> {
        let user = self.user(username).await?;
        self.store().unassign_role(user.id, role_id).await
    }

    /// Grants `username` a permission on one resource (or a whole type with `*`) in
    /// `workspace`, on their own role.
    pub async fn grant_user(
        &self,
        username: &str,
        resource_type: &str,
        resource_id: &str,
        permission: &str,
        workspace: &str,
    ) -> Result<()> {
        let grant = per_user_grant(resource_type, resource_id, Some(permission))?;
        let user = self.user(username).await?;
        self.store()
            .grant_user(user.id, workspace, &grant, false)
            .await
            .map_err(|e| {
                if e.code == ErrorCode::ResourceAlreadyExists {
                    Error::already_exists(format!(
                        "Permission for user={username} on resource_type={resource_type}, \
                         resource_id={resource_id} already exists."
                    ))
                } else {
                    e
                }
            })
    }

    /// Takes a grant back from `username`'s own role.
    pub async fn revoke_user(
        &self,
        username: &str,
        resource_type: &str,
        resource_id: &str,
        workspace: &str,
    ) -> Result<()> {
        let grant = per_user_grant(resource_type, resource_id, None)?;
        let user = self.user(username).await?;
        if self
            .store()
            .revoke_user(user.id, workspace, grant.resource_type, &grant.pattern)
            .await?
        {
            Ok(())
        } else {
            Err(Error::not_found(format!(
                "Permission for user={username} on resource_type={resource_type}, \
                 resource_id={resource_id} not found."
            )))
        }
    }

    /// What `username` holds on one resource, resolved as a request would be: the level and
    /// whether it lets them use the resource.
    pub async fn user_permission(
        &self,
        username: &str,
        resource_type: &str,
        resource_id: &str,
        workspace: &str,
    ) -> Result<(bool, Permission)> {
        let grant = per_user_grant(resource_type, resource_id, None)?;
        let user = self.user(username).await?;
        let key = Key {
            resource_type: grant.resource_type,
            id: (grant.pattern != "*").then_some(grant.pattern.as_str()),
        };
        let holdings = self
            .store()
            .holdings(Holder::user(user.id), workspace, &[key])
            .await?;
        let level = if user.is_admin {
            Permission::Manage
        } else {
            holdings.resolve(
                &[key],
                Defaults::in_workspace(self.settings().default_permission, workspace),
            )
        };
        Ok((level >= Permission::Use, level))
    }

    /// The caller's level on each of `ids` (of a type with per-resource grants), resolved as
    /// their requests would be from their grants, their groups' roles and the default, in one
    /// store read: for pages to offer only what the caller may do. Each request is still
    /// decided on its own (operators' Cedar policies can only narrow these levels).
    pub async fn levels_of(
        &self,
        principal: &Principal,
        resource_type: &str,
        ids: &[String],
        workspace: &str,
    ) -> Result<Vec<Permission>> {
        let t = per_resource_type(resource_type)?;
        if principal.user.is_admin {
            return Ok(vec![Permission::Manage; ids.len()]);
        }
        let keys: Vec<Key<'_>> = ids.iter().map(|id| Key::of(t, id)).collect();
        let holdings = self
            .store()
            .holdings(principal.holder(), workspace, &keys)
            .await?;
        let defaults = Defaults::in_workspace(self.settings().default_permission, workspace);
        Ok(keys
            .iter()
            .map(|key| holdings.resolve(std::slice::from_ref(key), defaults))
            .collect())
    }

    /// Every grant `user` holds, through each of their roles.
    pub async fn permission_rows(&self, user: &User) -> Result<Vec<PermissionRow>> {
        Ok(self
            .store()
            .user_roles(user.id)
            .await?
            .into_iter()
            .flat_map(|role| {
                role.permissions.into_iter().map(move |p| PermissionRow {
                    role_id: role.id,
                    role_name: role.name.clone(),
                    workspace: role.workspace.clone(),
                    grant: p.grant,
                })
            })
            .collect())
    }

    /// Which resources of type `t` a search may show `principal`: everything (administrators,
    /// workspace administrators, a type-wide grant or a default of READ or more) but what a
    /// DENY hides, or only what a grant lets them read. Costs one query over the principal's
    /// own grants, however many resources exist.
    pub async fn visibility(
        &self,
        principal: &Principal,
        t: GrantType,
        workspace: &str,
    ) -> Result<keel_core::store::Visible> {
        use keel_core::store::Visible;
        if principal.user.is_admin {
            return Ok(Visible::All);
        }
        let holdings = self
            .store()
            .grants_of_types(principal.holder(), workspace, &[t, GrantType::Workspace])
            .await?;
        if holdings.is_workspace_admin() {
            return Ok(Visible::All);
        }
        let defaults = Defaults::in_workspace(self.settings().default_permission, workspace);
        let readable = |p: Permission| p >= Permission::Read;
        let base = holdings.resolve(&[Key::any(t)], defaults);
        let mut ids: Vec<&str> = holdings
            .grants
            .iter()
            .filter(|g| g.resource_type == t && g.pattern != "*")
            .map(|g| g.pattern.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let level = |id: &str| holdings.resolve(&[Key::of(t, id)], defaults);
        Ok(if readable(base) {
            Visible::AllExcept(
                ids.into_iter()
                    .filter(|id| !readable(level(id)))
                    .map(str::to_owned)
                    .collect(),
            )
        } else if base == Permission::Deny {
            Visible::Only(Vec::new())
        } else {
            Visible::Only(
                ids.into_iter()
                    .filter(|id| readable(level(id)))
                    .map(str::to_owned)
                    .collect(),
            )
        })
    }

    /// Whether a type-wide DENY on `t` applies to `principal` (administrators and workspace
    /// administrators are never denied).
    pub async fn type_denied(
        &self,
        principal: &Principal,
        t: GrantType,
        workspace: &str,
    ) -> Result<bool> {
        if principal.user.is_admin {
            return Ok(false);
        }
        let holdings = self
            .store()
            .grants_of_types(principal.holder(), workspace, &[t, GrantType::Workspace])
            .await?;
        Ok(!holdings.is_workspace_admin() && holdings.fold(Key::any(t)) == Some(Permission::Deny))
    }

    /// Whether `user` is a member of `workspace`: assigned a role there other than their own
    /// per-user role (which every creator gets, and which makes nobody a member).
    pub async fn has_role_in(&self, user: &User, workspace: &str) -> Result<bool> {
        Ok(self
            .store()
            .user_roles(user.id)
            .await?
            .iter()
            .any(|r| r.workspace == workspace && !is_user_role(&r.name)))
    }

    /// Gives the creator of a resource MANAGE on it (their own role in `workspace`).
    pub async fn grant_creator(
        &self,
        creator: &Principal,
        resource_type: GrantType,
        id: &str,
        workspace: &str,
    ) -> Result<()> {
        if creator.user.id <= 0 {
            // The local administrator of a server without accounts owns nothing.
            return Ok(());
        }
        let grant = Grant {
            resource_type,
            pattern: id.to_owned(),
            permission: Permission::Manage,
        };
        self.store()
            .grant_user(creator.user.id, workspace, &grant, true)
            .await
    }
}

fn check_role_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("Role name cannot be empty."));
    }
    if is_user_role(name) {
        return Err(Error::invalid(format!(
            "Role name '{name}' uses the reserved '{USER_ROLE_PREFIX}' prefix, which is held for \
             the per-user permission representation. Choose a different name."
        )));
    }
    Ok(())
}

fn parse_grant(resource_type: &str, pattern: &str, permission: &str) -> Result<Grant> {
    let resource_type = GrantType::parse(resource_type)?;
    let permission = Permission::parse(permission)?;
    Grant::validate(resource_type, pattern, permission)?;
    Ok(Grant {
        resource_type,
        pattern: pattern.to_owned(),
        permission,
    })
}

/// A grant of the per-user API (`permission` unset for revoke and get).
fn per_user_grant(
    resource_type: &str,
    resource_id: &str,
    permission: Option<&str>,
) -> Result<Grant> {
    let t = GrantType::parse(resource_type)?;
    if t == GrantType::Workspace {
        return Err(Error::invalid(
            "resource_type 'workspace' is not supported by the per-user permission convenience \
             APIs. Use set_workspace_permission / delete_workspace_permission for \
             workspace-wide grants.",
        ));
    }
    if resource_id != "*" && !PER_USER_TYPES.contains(&t) && t != GrantType::Prompt {
        return Err(Error::invalid(format!(
            "resource_type '{resource_type}' is not supported by the per-user permission \
             convenience APIs."
        )));
    }
    if t == GrantType::Scorer && resource_id != "*" && !resource_id.contains('/') {
        return Err(Error::invalid(
            "Invalid scorer resource_id. Expected '<experiment_id>/<scorer_name>'.",
        ));
    }
    match permission {
        Some(p) => parse_grant(resource_type, resource_id, p),
        None => {
            if resource_id.is_empty() {
                return Err(Error::missing_parameter("resource_id"));
            }
            Ok(Grant {
                resource_type: t,
                pattern: resource_id.to_owned(),
                permission: Permission::NoPermissions,
            })
        }
    }
}

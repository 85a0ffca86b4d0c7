//! SQL for accounts, tokens, roles, grants and assignments on PostgreSQL, mirroring
//! `sqlite/identity.rs`: each write checks before its first write, with the same errors.
//!
//! Writes run in READ COMMITTED transactions, so checks alone do not exclude a concurrent
//! writer: creations insert with `ON CONFLICT DO NOTHING` (a row that appeared meanwhile is the
//! same RESOURCE_ALREADY_EXISTS), and rows that must not vanish between a check and a write are
//! locked by the check. Lock order: the user's row first, then roles, then their grants and
//! assignments. `grant_user` locks the user's row, so grants to one user are serialized and a
//! per-user role is created once.

use std::collections::{BTreeMap, HashMap};

use keel_auth::entities::*;
use keel_auth::grants::{Grant, GrantType, Holdings, Key};
use keel_auth::permission::Permission;
use keel_auth::store::{Holder, RoleUpdate};
use keel_core::Error;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult, UNIQUE_VIOLATION};

const USER_COLUMNS: &str =
    "id, username, display_name, email, is_admin, kind, password_hash, created_at, updated_at";
const TOKEN_COLUMNS: &str = "id, user_id, name, scopes, secret_sha256, created_at, expires_at, \
     last_used_at, revoked_at";
const ROLE_COLUMNS: &str = "id, name, workspace, description";
const PERMISSION_COLUMNS: &str = "id, role_id, resource_type, resource_pattern, permission";

fn unexpected(what: String) -> Failure {
    Error::internal(format!("unexpected {what} in database")).into()
}

/// `columns` with each name prefixed by `alias.`.
fn prefixed(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_from_row(r: &PgRow) -> PgResult<User> {
    let kind: String = r.try_get(5)?;
    Ok(User {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        email: r.try_get(3)?,
        is_admin: r.try_get(4)?,
        kind: AccountKind::parse(&kind)
            .ok_or_else(|| unexpected(format!("account kind '{kind}'")))?,
        password_hash: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
    })
}

fn token_from_row(r: &PgRow, at: usize) -> PgResult<ApiToken> {
    let scopes: String = r.try_get(at + 3)?;
    Ok(ApiToken {
        id: r.try_get(at)?,
        user_id: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        scopes: serde_json::from_str(&scopes).map_err(|_| unexpected("token scopes".into()))?,
        secret_sha256: r.try_get(at + 4)?,
        created_at: r.try_get(at + 5)?,
        expires_at: r.try_get(at + 6)?,
        last_used_at: r.try_get(at + 7)?,
        revoked_at: r.try_get(at + 8)?,
    })
}

fn grant_from(t: &str, pattern: String, p: &str) -> PgResult<Grant> {
    Ok(Grant {
        resource_type: GrantType::parse(t)
            .map_err(|_| unexpected(format!("resource type '{t}'")))?,
        pattern,
        permission: Permission::parse(p).map_err(|_| unexpected(format!("permission '{p}'")))?,
    })
}

fn role_permission_from_row(r: &PgRow) -> PgResult<RolePermission> {
    let t: String = r.try_get(2)?;
    let p: String = r.try_get(4)?;
    Ok(RolePermission {
        id: r.try_get(0)?,
        role_id: r.try_get(1)?,
        grant: grant_from(&t, r.try_get(3)?, &p)?,
    })
}

fn role_from_row(r: &PgRow) -> PgResult<Role> {
    Ok(Role {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        workspace: r.try_get(2)?,
        description: r.try_get(3)?,
        permissions: Vec::new(),
    })
}

fn assignment_from((id, user_id, role_id): (i64, i64, i64)) -> Assignment {
    Assignment {
        id,
        user_id,
        role_id,
    }
}

/// Whether a failure is a UNIQUE or PRIMARY KEY violation.
fn is_unique_violation(failure: &Failure) -> bool {
    failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION)
}

pub(crate) async fn count_users(conn: &mut PgConnection) -> PgResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM auth_users")
        .fetch_one(&mut *conn)
        .await?)
}

pub(crate) async fn user_by_name(
    conn: &mut PgConnection,
    username: &str,
) -> PgResult<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM auth_users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(crate) async fn user_by_id(conn: &mut PgConnection, id: i64) -> PgResult<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM auth_users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Locks a user's row (`lock` is the row-lock clause); whether there is one.
async fn lock_user(conn: &mut PgConnection, id: i64, lock: &str) -> PgResult<bool> {
    let found: Option<i32> =
        sqlx::query_scalar(&format!("SELECT 1 FROM auth_users WHERE id = $1 {lock}"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

pub(crate) async fn list_users(conn: &mut PgConnection) -> PgResult<Vec<User>> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM auth_users ORDER BY id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(user_from_row).collect()
}

fn user_exists(username: &str) -> Failure {
    Error::already_exists(format!("User (username={username}) already exists.")).into()
}

pub(crate) async fn insert_user(conn: &mut PgConnection, u: &NewUser) -> PgResult<User> {
    if user_by_name(conn, &u.username).await?.is_some() {
        return Err(user_exists(&u.username));
    }
    // A concurrent insert of the same name commits first: nothing is inserted here.
    let row = sqlx::query(&format!(
        "INSERT INTO auth_users (username, display_name, email, is_admin, kind, password_hash, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (username) DO NOTHING RETURNING {USER_COLUMNS}"
    ))
    .bind(&u.username)
    .bind(u.display_name.as_deref())
    .bind(u.email.as_deref())
    .bind(u.is_admin)
    .bind(u.kind.as_str())
    .bind(u.password_hash.as_deref())
    .bind(u.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => user_from_row(&row),
        None => Err(user_exists(&u.username)),
    }
}

fn user_not_found(id: i64) -> Failure {
    Error::not_found(format!("User with id={id} not found")).into()
}

pub(crate) async fn update_user(conn: &mut PgConnection, u: &User) -> PgResult<()> {
    let done = sqlx::query(
        "UPDATE auth_users SET display_name = $2, email = $3, is_admin = $4, \
         password_hash = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(u.id)
    .bind(u.display_name.as_deref())
    .bind(u.email.as_deref())
    .bind(u.is_admin)
    .bind(u.password_hash.as_deref())
    .bind(u.updated_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(user_not_found(u.id));
    }
    Ok(())
}

pub(crate) async fn delete_user(conn: &mut PgConnection, id: i64) -> PgResult<()> {
    // The lock waits for a grant to this user in progress, whose role is then deleted too.
    if !lock_user(conn, id, "FOR UPDATE").await? {
        return Err(user_not_found(id));
    }
    // Tokens and assignments go with the user (ON DELETE CASCADE); its own roles by name.
    sqlx::query("DELETE FROM auth_roles WHERE name = $1")
        .bind(user_role_name(id))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM auth_users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn insert_token(conn: &mut PgConnection, t: &ApiToken) -> PgResult<()> {
    if !lock_user(conn, t.user_id, "FOR KEY SHARE").await? {
        return Err(user_not_found(t.user_id));
    }
    let scopes = serde_json::to_string(&t.scopes).map_err(|e| Error::internal(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO auth_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&t.id)
    .bind(t.user_id)
    .bind(&t.name)
    .bind(scopes)
    .bind(&t.secret_sha256)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.last_used_at)
    .bind(t.revoked_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn token(conn: &mut PgConnection, id: &str) -> PgResult<Option<(ApiToken, User)>> {
    let row = sqlx::query(&format!(
        "SELECT {}, {} FROM auth_tokens t JOIN auth_users u ON u.id = t.user_id WHERE t.id = $1",
        prefixed(USER_COLUMNS, "u"),
        prefixed(TOKEN_COLUMNS, "t"),
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((token_from_row(&r, 9)?, user_from_row(&r)?)))
}

pub(crate) async fn list_tokens(conn: &mut PgConnection, user_id: i64) -> PgResult<Vec<ApiToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE user_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| token_from_row(r, 0)).collect()
}

pub(crate) async fn purge_tokens(conn: &mut PgConnection, cutoff: i64) -> PgResult<u64> {
    let done = sqlx::query("DELETE FROM auth_tokens WHERE expires_at < $1 OR revoked_at < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn revoke_token(conn: &mut PgConnection, id: &str, now: i64) -> PgResult<()> {
    let done =
        sqlx::query("UPDATE auth_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("Token with id={id} not found")).into());
    }
    Ok(())
}

pub(crate) async fn touch_tokens(conn: &mut PgConnection, used: &[(String, i64)]) -> PgResult<()> {
    // The latest time of each token, in ID order (the order their rows are locked in).
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for (id, at) in used {
        let t = latest.entry(id.as_str()).or_insert(*at);
        *t = (*t).max(*at);
    }
    if latest.is_empty() {
        return Ok(());
    }
    let (ids, times): (Vec<&str>, Vec<i64>) = latest.into_iter().unzip();
    sqlx::query(
        "WITH used AS (SELECT * FROM UNNEST($1::text[], $2::bigint[]) AS u (id, at)), \
         locked AS (SELECT t.id, used.at FROM auth_tokens t JOIN used ON used.id = t.id \
             ORDER BY t.id FOR NO KEY UPDATE OF t) \
         UPDATE auth_tokens t SET last_used_at = GREATEST(COALESCE(t.last_used_at, 0), locked.at) \
         FROM locked WHERE t.id = locked.id",
    )
    .bind(&ids)
    .bind(&times)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A role without its grants; `lock` is a row-lock clause or empty.
async fn role_row(conn: &mut PgConnection, id: i64, lock: &str) -> PgResult<Option<Role>> {
    let row = sqlx::query(&format!(
        "SELECT {ROLE_COLUMNS} FROM auth_roles WHERE id = $1 {lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(role_from_row).transpose()
}

/// Fills in the grants of `roles`, each role's by ID.
async fn with_permissions(conn: &mut PgConnection, mut roles: Vec<Role>) -> PgResult<Vec<Role>> {
    if roles.is_empty() {
        return Ok(roles);
    }
    let ids: Vec<i64> = roles.iter().map(|r| r.id).collect();
    let rows = sqlx::query(&format!(
        "SELECT {PERMISSION_COLUMNS} FROM auth_role_permissions WHERE role_id = ANY($1) \
         ORDER BY id"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_role: HashMap<i64, Vec<RolePermission>> = HashMap::new();
    for row in &rows {
        let rp = role_permission_from_row(row)?;
        by_role.entry(rp.role_id).or_default().push(rp);
    }
    for role in &mut roles {
        role.permissions = by_role.remove(&role.id).unwrap_or_default();
    }
    Ok(roles)
}

pub(crate) async fn role(conn: &mut PgConnection, id: i64) -> PgResult<Option<Role>> {
    let Some(role) = role_row(conn, id, "").await? else {
        return Ok(None);
    };
    Ok(with_permissions(conn, vec![role]).await?.pop())
}

pub(crate) async fn list_roles(
    conn: &mut PgConnection,
    workspaces: Option<&[String]>,
) -> PgResult<Vec<Role>> {
    let rows = match workspaces {
        None => {
            sqlx::query(&format!(
                "SELECT {ROLE_COLUMNS} FROM auth_roles ORDER BY id"
            ))
            .fetch_all(&mut *conn)
            .await?
        }
        Some(ws) => {
            sqlx::query(&format!(
                "SELECT {ROLE_COLUMNS} FROM auth_roles WHERE workspace = ANY($1) ORDER BY id"
            ))
            .bind(ws)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let roles = rows
        .iter()
        .map(role_from_row)
        .collect::<PgResult<Vec<_>>>()?;
    with_permissions(conn, roles).await
}

async fn role_name_taken(
    conn: &mut PgConnection,
    workspace: &str,
    name: &str,
) -> PgResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM auth_roles WHERE workspace = $1 AND name = $2")
            .bind(workspace)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

fn role_exists(workspace: &str, name: &str) -> Failure {
    Error::already_exists(format!(
        "Role (name={name}, workspace={workspace}) already exists."
    ))
    .into()
}

/// Inserts a role unless the workspace has one of that name; its ID if inserted.
async fn insert_role_row(
    conn: &mut PgConnection,
    workspace: &str,
    name: &str,
    description: Option<&str>,
) -> PgResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO auth_roles (name, workspace, description) VALUES ($1, $2, $3) \
         ON CONFLICT (workspace, name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(workspace)
    .bind(description)
    .fetch_optional(&mut *conn)
    .await?)
}

pub(crate) async fn insert_role(
    conn: &mut PgConnection,
    workspace: &str,
    name: &str,
    description: Option<&str>,
) -> PgResult<Role> {
    if role_name_taken(conn, workspace, name).await?.is_some() {
        return Err(role_exists(workspace, name));
    }
    let id = insert_role_row(conn, workspace, name, description)
        .await?
        .ok_or_else(|| role_exists(workspace, name))?;
    Ok(Role {
        id,
        name: name.to_owned(),
        workspace: workspace.to_owned(),
        description: description.map(str::to_owned),
        permissions: Vec::new(),
    })
}

fn role_not_found(id: i64) -> Failure {
    Error::not_found(format!("Role with id={id} not found")).into()
}

pub(crate) async fn update_role(
    conn: &mut PgConnection,
    id: i64,
    u: &RoleUpdate,
) -> PgResult<Role> {
    let existing = role_row(conn, id, "FOR UPDATE")
        .await?
        .ok_or_else(|| role_not_found(id))?;
    let name_taken = |name: &str| -> Failure {
        Error::already_exists(format!(
            "Role with name={name} already exists in workspace={}",
            existing.workspace
        ))
        .into()
    };
    if let Some(name) = &u.name {
        if role_name_taken(conn, &existing.workspace, name)
            .await?
            .is_some_and(|other| other != id)
        {
            return Err(name_taken(name));
        }
    }
    let name = u.name.clone().unwrap_or_else(|| existing.name.clone());
    let description = u
        .description
        .clone()
        .unwrap_or_else(|| existing.description.clone());
    let updated = sqlx::query("UPDATE auth_roles SET name = $2, description = $3 WHERE id = $1")
        .bind(id)
        .bind(&name)
        .bind(description.as_deref())
        .execute(&mut *conn)
        .await;
    if let Err(e) = updated {
        let failure = Failure::from(e);
        // A role of that name was created meanwhile.
        if is_unique_violation(&failure) {
            return Err(name_taken(&name));
        }
        return Err(failure);
    }
    role(conn, id).await?.ok_or_else(|| role_not_found(id))
}

pub(crate) async fn delete_role(conn: &mut PgConnection, id: i64) -> PgResult<()> {
    if role_row(conn, id, "FOR UPDATE").await?.is_none() {
        return Err(role_not_found(id));
    }
    sqlx::query("DELETE FROM auth_roles WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn permission_on(
    conn: &mut PgConnection,
    role_id: i64,
    t: GrantType,
    pattern: &str,
) -> PgResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM auth_role_permissions \
         WHERE role_id = $1 AND resource_type = $2 AND resource_pattern = $3",
    )
    .bind(role_id)
    .bind(t.as_str())
    .bind(pattern)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Inserts a grant on a role; with `replace`, a grant on the same type and pattern takes the
/// new level, else it stays and nothing is inserted. The grant's ID unless nothing was.
async fn upsert_permission(
    conn: &mut PgConnection,
    role_id: i64,
    g: &Grant,
    replace: bool,
) -> PgResult<Option<i64>> {
    let on_conflict = if replace {
        "DO UPDATE SET permission = EXCLUDED.permission"
    } else {
        "DO NOTHING"
    };
    Ok(sqlx::query_scalar(&format!(
        "INSERT INTO auth_role_permissions (role_id, resource_type, resource_pattern, \
         permission) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (role_id, resource_type, resource_pattern) {on_conflict} RETURNING id"
    ))
    .bind(role_id)
    .bind(g.resource_type.as_str())
    .bind(&g.pattern)
    .bind(g.permission.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

pub(crate) async fn add_role_permission(
    conn: &mut PgConnection,
    role_id: i64,
    g: &Grant,
) -> PgResult<RolePermission> {
    if role_row(conn, role_id, "FOR KEY SHARE").await?.is_none() {
        return Err(role_not_found(role_id));
    }
    let exists = || -> Failure {
        Error::already_exists(format!(
            "Role permission (role_id={role_id}, resource_type={}, resource_pattern={}) already exists.",
            g.resource_type.as_str(),
            g.pattern
        ))
        .into()
    };
    if permission_on(conn, role_id, g.resource_type, &g.pattern)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let id = upsert_permission(conn, role_id, g, false)
        .await?
        .ok_or_else(exists)?;
    Ok(RolePermission {
        id,
        role_id,
        grant: g.clone(),
    })
}

async fn role_permission_row(
    conn: &mut PgConnection,
    id: i64,
    lock: &str,
) -> PgResult<Option<RolePermission>> {
    let row = sqlx::query(&format!(
        "SELECT {PERMISSION_COLUMNS} FROM auth_role_permissions WHERE id = $1 {lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(role_permission_from_row).transpose()
}

pub(crate) async fn role_permission(
    conn: &mut PgConnection,
    id: i64,
) -> PgResult<Option<RolePermission>> {
    role_permission_row(conn, id, "").await
}

fn role_permission_not_found(id: i64) -> Failure {
    Error::not_found(format!("Role permission with id={id} not found")).into()
}

pub(crate) async fn update_role_permission(
    conn: &mut PgConnection,
    id: i64,
    permission: Permission,
) -> PgResult<RolePermission> {
    let mut rp = role_permission_row(conn, id, "FOR UPDATE")
        .await?
        .ok_or_else(|| role_permission_not_found(id))?;
    sqlx::query("UPDATE auth_role_permissions SET permission = $2 WHERE id = $1")
        .bind(id)
        .bind(permission.as_str())
        .execute(&mut *conn)
        .await?;
    rp.grant.permission = permission;
    Ok(rp)
}

pub(crate) async fn remove_role_permission(conn: &mut PgConnection, id: i64) -> PgResult<()> {
    let done = sqlx::query("DELETE FROM auth_role_permissions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(role_permission_not_found(id));
    }
    Ok(())
}

async fn assignment(
    conn: &mut PgConnection,
    user_id: i64,
    role_id: i64,
) -> PgResult<Option<Assignment>> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, user_id, role_id FROM auth_role_assignments \
         WHERE user_id = $1 AND role_id = $2",
    )
    .bind(user_id)
    .bind(role_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(assignment_from))
}

/// Assigns a role unless it is assigned already; the assignment's ID if it was inserted.
async fn insert_assignment(
    conn: &mut PgConnection,
    user_id: i64,
    role_id: i64,
) -> PgResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO auth_role_assignments (user_id, role_id) VALUES ($1, $2) \
         ON CONFLICT (user_id, role_id) DO NOTHING RETURNING id",
    )
    .bind(user_id)
    .bind(role_id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub(crate) async fn assign_role(
    conn: &mut PgConnection,
    user_id: i64,
    role_id: i64,
) -> PgResult<Assignment> {
    if !lock_user(conn, user_id, "FOR KEY SHARE").await? {
        return Err(user_not_found(user_id));
    }
    if role_row(conn, role_id, "FOR KEY SHARE").await?.is_none() {
        return Err(role_not_found(role_id));
    }
    let exists = || -> Failure {
        Error::already_exists(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) already exists"
        ))
        .into()
    };
    if assignment(conn, user_id, role_id).await?.is_some() {
        return Err(exists());
    }
    let id = insert_assignment(conn, user_id, role_id)
        .await?
        .ok_or_else(exists)?;
    Ok(Assignment {
        id,
        user_id,
        role_id,
    })
}

pub(crate) async fn unassign_role(
    conn: &mut PgConnection,
    user_id: i64,
    role_id: i64,
) -> PgResult<()> {
    let done = sqlx::query("DELETE FROM auth_role_assignments WHERE user_id = $1 AND role_id = $2")
        .bind(user_id)
        .bind(role_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) not found"
        ))
        .into());
    }
    Ok(())
}

pub(crate) async fn role_assignments(
    conn: &mut PgConnection,
    role_id: i64,
) -> PgResult<Vec<Assignment>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, user_id, role_id FROM auth_role_assignments WHERE role_id = $1 ORDER BY id",
    )
    .bind(role_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(assignment_from).collect())
}

pub(crate) async fn resource_holders(
    conn: &mut PgConnection,
    workspace: &str,
    resource_type: GrantType,
    id: &str,
    limit: i64,
) -> PgResult<Vec<ResourceHolder>> {
    let rows: Vec<(i64, String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT r.id, r.name, p.resource_type, p.resource_pattern, p.permission, u.username \
         FROM auth_roles r \
         JOIN auth_role_permissions p ON p.role_id = r.id \
         LEFT JOIN auth_role_assignments a ON a.role_id = r.id \
         LEFT JOIN auth_users u ON u.id = a.user_id \
         WHERE r.workspace = $1 \
           AND ((p.resource_type = $2 AND p.resource_pattern IN ($3, '*')) \
                OR (p.resource_type = 'workspace' AND p.resource_pattern = '*' \
                    AND p.permission = 'MANAGE')) \
         ORDER BY r.name, r.id, p.resource_type, p.resource_pattern, u.username \
         LIMIT $4",
    )
    .bind(workspace)
    .bind(resource_type.as_str())
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(|(role_id, name, t, pattern, p, username)| {
            Ok((role_id, name, grant_from(&t, pattern, &p)?, username))
        })
        .collect::<PgResult<Vec<_>>>()?;
    Ok(ResourceHolder::group(rows))
}

pub(crate) async fn user_roles(conn: &mut PgConnection, user_id: i64) -> PgResult<Vec<Role>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM auth_role_assignments a JOIN auth_roles r ON r.id = a.role_id \
         WHERE a.user_id = $1 ORDER BY r.id",
        prefixed(ROLE_COLUMNS, "r")
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let roles = rows
        .iter()
        .map(role_from_row)
        .collect::<PgResult<Vec<_>>>()?;
    with_permissions(conn, roles).await
}

/// The user's own role in `workspace`, if it exists.
async fn own_role(conn: &mut PgConnection, user_id: i64, workspace: &str) -> PgResult<Option<i64>> {
    role_name_taken(conn, workspace, &user_role_name(user_id)).await
}

pub(crate) async fn grant_user(
    conn: &mut PgConnection,
    user_id: i64,
    workspace: &str,
    g: &Grant,
    replace: bool,
) -> PgResult<()> {
    // Grants to one user are serialized on the user's row.
    if !lock_user(conn, user_id, "FOR NO KEY UPDATE").await? {
        return Err(user_not_found(user_id));
    }
    let role_id = own_role(conn, user_id, workspace).await?;
    let existing = match role_id {
        Some(r) => permission_on(conn, r, g.resource_type, &g.pattern).await?,
        None => None,
    };
    let exists = || -> Failure {
        Error::already_exists(format!(
            "Permission on resource_type={}, resource_id={} already exists.",
            g.resource_type.as_str(),
            g.pattern
        ))
        .into()
    };
    if existing.is_some() && !replace {
        return Err(exists());
    }
    let role_id = match role_id {
        Some(r) => r,
        None => {
            let name = user_role_name(user_id);
            let role_id = match insert_role_row(conn, workspace, &name, None).await? {
                Some(id) => id,
                // Created meanwhile (as a plain role of that name): the user's own all the same.
                None => own_role(conn, user_id, workspace)
                    .await?
                    .ok_or_else(|| Error::internal("the user's own role vanished"))?,
            };
            insert_assignment(conn, user_id, role_id).await?;
            role_id
        }
    };
    upsert_permission(conn, role_id, g, replace)
        .await?
        .map(drop)
        .ok_or_else(exists)
}

pub(crate) async fn revoke_user(
    conn: &mut PgConnection,
    user_id: i64,
    workspace: &str,
    t: GrantType,
    pattern: &str,
) -> PgResult<bool> {
    let Some(role_id) = own_role(conn, user_id, workspace).await? else {
        return Ok(false);
    };
    let done = sqlx::query(
        "DELETE FROM auth_role_permissions \
         WHERE role_id = $1 AND resource_type = $2 AND resource_pattern = $3",
    )
    .bind(role_id)
    .bind(t.as_str())
    .bind(pattern)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn rename_grants(
    conn: &mut PgConnection,
    types: &[GrantType],
    from: &str,
    to: &str,
) -> PgResult<()> {
    if types.is_empty() || from == to {
        return Ok(());
    }
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    // As SQLite's UPDATE OR REPLACE: a grant on the new name, on a role that also has one on
    // the old name, is replaced by the renamed grant.
    sqlx::query(
        "DELETE FROM auth_role_permissions p \
         WHERE p.resource_type = ANY($1) AND p.resource_pattern = $3 AND EXISTS ( \
             SELECT 1 FROM auth_role_permissions o WHERE o.role_id = p.role_id \
             AND o.resource_type = p.resource_type AND o.resource_pattern = $2)",
    )
    .bind(&types)
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE auth_role_permissions SET resource_pattern = $3 \
         WHERE resource_type = ANY($1) AND resource_pattern = $2",
    )
    .bind(&types)
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn holdings(
    conn: &mut PgConnection,
    holder: Holder<'_>,
    workspace: &str,
    keys: &[Key<'_>],
) -> PgResult<Holdings> {
    // Workspace grants always bear; each key adds its type's `*` and its own ID.
    let mut types = vec![GrantType::Workspace.as_str()];
    let mut patterns = vec!["*"];
    for k in keys {
        types.push(k.resource_type.as_str());
        if let Some(id) = k.id {
            patterns.push(id);
        }
    }
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.resource_type, p.resource_pattern, p.permission \
         FROM auth_roles r \
         JOIN auth_role_permissions p ON p.role_id = r.id \
         WHERE r.workspace = $2 \
           AND r.id IN (SELECT role_id FROM auth_role_assignments WHERE user_id = $1 \
                        UNION SELECT id FROM auth_roles WHERE workspace = $2 AND name = ANY($5) \
                                           AND name NOT LIKE '\\_\\_user\\_%' ESCAPE '\\') \
           AND p.resource_type = ANY($3) AND p.resource_pattern = ANY($4)",
    )
    .bind(holder.user_id)
    .bind(workspace)
    .bind(&types)
    .bind(&patterns)
    .bind(holder.groups)
    .fetch_all(&mut *conn)
    .await?;
    let grants = rows
        .into_iter()
        .map(|(t, pattern, p)| grant_from(&t, pattern, &p))
        .collect::<PgResult<Vec<_>>>()?;
    // The ANY lists cross types with patterns; keep only rows one of the keys asks for.
    let wanted = |g: &Grant| {
        g.resource_type == GrantType::Workspace
            || keys.iter().any(|k| {
                k.resource_type == g.resource_type
                    && (g.pattern == "*" || k.id == Some(g.pattern.as_str()))
            })
    };
    Ok(Holdings::new(grants.into_iter().filter(wanted).collect()))
}

pub(crate) async fn grants_of_types(
    conn: &mut PgConnection,
    holder: Holder<'_>,
    workspace: &str,
    types: &[GrantType],
) -> PgResult<Holdings> {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.resource_type, p.resource_pattern, p.permission \
         FROM auth_roles r \
         JOIN auth_role_permissions p ON p.role_id = r.id \
         WHERE r.workspace = $2 \
           AND r.id IN (SELECT role_id FROM auth_role_assignments WHERE user_id = $1 \
                        UNION SELECT id FROM auth_roles WHERE workspace = $2 AND name = ANY($4) \
                                           AND name NOT LIKE '\\_\\_user\\_%' ESCAPE '\\') \
           AND p.resource_type = ANY($3)",
    )
    .bind(holder.user_id)
    .bind(workspace)
    .bind(&types)
    .bind(holder.groups)
    .fetch_all(&mut *conn)
    .await?;
    let grants = rows
        .into_iter()
        .map(|(t, pattern, p)| grant_from(&t, pattern, &p))
        .collect::<PgResult<Vec<_>>>()?;
    Ok(Holdings::new(grants))
}

//! SQL for accounts, tokens, roles, grants and assignments on SQLite. Write functions check
//! before their first write (see `writer.rs`).

use keel_auth::entities::*;
use keel_auth::grants::{Grant, GrantType, Holdings, Key};
use keel_auth::permission::Permission;
use keel_auth::store::{Holder, RoleUpdate};
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;

const USER_COLUMNS: &str =
    "id, username, display_name, email, is_admin, kind, password_hash, created_at, updated_at";
const TOKEN_COLUMNS: &str = "id, user_id, name, scopes, secret_sha256, created_at, expires_at, \
     last_used_at, revoked_at";

fn invalid(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected {what} in database").into(),
    )
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let kind: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        email: r.get(3)?,
        is_admin: r.get(4)?,
        kind: AccountKind::parse(&kind).ok_or_else(|| invalid(format!("account kind '{kind}'")))?,
        password_hash: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn token_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ApiToken> {
    let scopes: String = r.get(at + 3)?;
    Ok(ApiToken {
        id: r.get(at)?,
        user_id: r.get(at + 1)?,
        name: r.get(at + 2)?,
        scopes: serde_json::from_str(&scopes).map_err(|_| invalid("token scopes".into()))?,
        secret_sha256: r.get(at + 4)?,
        created_at: r.get(at + 5)?,
        expires_at: r.get(at + 6)?,
        last_used_at: r.get(at + 7)?,
        revoked_at: r.get(at + 8)?,
    })
}

fn grant_from(t: &str, pattern: String, p: &str) -> rusqlite::Result<Grant> {
    Ok(Grant {
        resource_type: GrantType::parse(t).map_err(|_| invalid(format!("resource type '{t}'")))?,
        pattern,
        permission: Permission::parse(p).map_err(|_| invalid(format!("permission '{p}'")))?,
    })
}

/// A grant from a `(resource_type, resource_pattern, permission)` row.
fn grant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    let t: String = r.get(0)?;
    let p: String = r.get(2)?;
    grant_from(&t, r.get(1)?, &p)
}

fn role_permission_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RolePermission> {
    let t: String = r.get(2)?;
    let p: String = r.get(4)?;
    Ok(RolePermission {
        id: r.get(0)?,
        role_id: r.get(1)?,
        grant: grant_from(&t, r.get(3)?, &p)?,
    })
}

pub(crate) fn count_users(c: &Connection) -> Result<i64> {
    c.query_row("SELECT COUNT(*) FROM auth_users", [], |r| r.get(0))
        .map_err(db_err)
}

fn user_where(c: &Connection, clause: &str, param: &dyn rusqlite::ToSql) -> Result<Option<User>> {
    c.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM auth_users WHERE {clause}"
    ))
    .and_then(|mut s| s.query_row([param], user_from_row).optional())
    .map_err(db_err)
}

pub(crate) fn user_by_name(c: &Connection, username: &str) -> Result<Option<User>> {
    user_where(c, "username = ?1", &username)
}

pub(crate) fn user_by_id(c: &Connection, id: i64) -> Result<Option<User>> {
    user_where(c, "id = ?1", &id)
}

pub(crate) fn list_users(c: &Connection) -> Result<Vec<User>> {
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM auth_users ORDER BY id"
        ))
        .map_err(db_err)?;
    s.query_map([], user_from_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn insert_user(c: &Connection, u: &NewUser) -> Result<User> {
    if user_by_name(c, &u.username)?.is_some() {
        return Err(Error::already_exists(format!(
            "User (username={}) already exists.",
            u.username
        )));
    }
    c.execute(
        "INSERT INTO auth_users (username, display_name, email, is_admin, kind, password_hash, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            u.username,
            u.display_name,
            u.email,
            u.is_admin,
            u.kind.as_str(),
            u.password_hash,
            u.created_at
        ],
    )
    .map_err(db_err)?;
    user_by_id(c, c.last_insert_rowid())?
        .ok_or_else(|| Error::internal("an inserted user cannot be read back"))
}

fn user_not_found(id: i64) -> Error {
    Error::not_found(format!("User with id={id} not found"))
}

pub(crate) fn update_user(c: &Connection, u: &User) -> Result<()> {
    let n = c
        .execute(
            "UPDATE auth_users SET display_name = ?2, email = ?3, is_admin = ?4, \
             password_hash = ?5, updated_at = ?6 WHERE id = ?1",
            params![
                u.id,
                u.display_name,
                u.email,
                u.is_admin,
                u.password_hash,
                u.updated_at
            ],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(user_not_found(u.id));
    }
    Ok(())
}

pub(crate) fn delete_user(c: &Connection, id: i64) -> Result<()> {
    if user_by_id(c, id)?.is_none() {
        return Err(user_not_found(id));
    }
    // Tokens and assignments go with the user (ON DELETE CASCADE); its own roles by name.
    c.execute(
        "DELETE FROM auth_roles WHERE name = ?1",
        [user_role_name(id)],
    )
    .map_err(db_err)?;
    c.execute("DELETE FROM auth_users WHERE id = ?1", [id])
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn insert_token(c: &Connection, t: &ApiToken) -> Result<()> {
    if user_by_id(c, t.user_id)?.is_none() {
        return Err(user_not_found(t.user_id));
    }
    let scopes = serde_json::to_string(&t.scopes).map_err(|e| Error::internal(e.to_string()))?;
    c.execute(
        &format!(
            "INSERT INTO auth_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            t.id,
            t.user_id,
            t.name,
            scopes,
            t.secret_sha256,
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.revoked_at
        ],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn token(c: &Connection, id: &str) -> Result<Option<(ApiToken, User)>> {
    let user_cols: Vec<String> = USER_COLUMNS
        .split(", ")
        .map(|col| format!("u.{col}"))
        .collect();
    let token_cols: Vec<String> = TOKEN_COLUMNS
        .split(", ")
        .map(|col| format!("t.{}", col.trim()))
        .collect();
    let sql = format!(
        "SELECT {}, {} FROM auth_tokens t JOIN auth_users u ON u.id = t.user_id WHERE t.id = ?1",
        user_cols.join(", "),
        token_cols.join(", ")
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row([id], |r| Ok((token_from_row(r, 9)?, user_from_row(r)?)))
                .optional()
        })
        .map_err(db_err)
}

pub(crate) fn list_tokens(c: &Connection, user_id: i64) -> Result<Vec<ApiToken>> {
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE user_id = ?1 \
             ORDER BY created_at DESC, id"
        ))
        .map_err(db_err)?;
    s.query_map([user_id], |r| token_from_row(r, 0))
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn purge_tokens(c: &Connection, cutoff: i64) -> Result<u64> {
    let n = c
        .execute(
            "DELETE FROM auth_tokens WHERE expires_at < ?1 OR revoked_at < ?1",
            [cutoff],
        )
        .map_err(db_err)?;
    Ok(n as u64)
}

pub(crate) fn revoke_token(c: &Connection, id: &str, now: i64) -> Result<()> {
    let n = c
        .execute(
            "UPDATE auth_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id, now],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(Error::not_found(format!("Token with id={id} not found")));
    }
    Ok(())
}

pub(crate) fn touch_tokens(c: &Connection, used: &[(String, i64)]) -> Result<()> {
    let mut s = c
        .prepare_cached(
            "UPDATE auth_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) \
             WHERE id = ?1",
        )
        .map_err(db_err)?;
    for (id, at) in used {
        s.execute(params![id, at]).map_err(db_err)?;
    }
    Ok(())
}

fn role_row(c: &Connection, id: i64) -> Result<Option<Role>> {
    c.prepare_cached("SELECT id, name, workspace, description FROM auth_roles WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| {
                Ok(Role {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    workspace: r.get(2)?,
                    description: r.get(3)?,
                    permissions: Vec::new(),
                })
            })
            .optional()
        })
        .map_err(db_err)
}

fn role_permissions(c: &Connection, role_id: i64) -> Result<Vec<RolePermission>> {
    let mut s = c
        .prepare_cached(
            "SELECT id, role_id, resource_type, resource_pattern, permission \
             FROM auth_role_permissions WHERE role_id = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    s.query_map([role_id], role_permission_from_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn role(c: &Connection, id: i64) -> Result<Option<Role>> {
    let Some(mut role) = role_row(c, id)? else {
        return Ok(None);
    };
    role.permissions = role_permissions(c, id)?;
    Ok(Some(role))
}

fn roles_by_ids(c: &Connection, ids: Vec<i64>) -> Result<Vec<Role>> {
    ids.into_iter()
        .map(|id| role(c, id))
        .filter_map(Result::transpose)
        .collect()
}

pub(crate) fn list_roles(c: &Connection, workspaces: Option<&[String]>) -> Result<Vec<Role>> {
    let ids: Vec<i64> = match workspaces {
        None => c
            .prepare_cached("SELECT id FROM auth_roles ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(db_err)?,
        Some(ws) => c
            .prepare_cached("SELECT id FROM auth_roles WHERE workspace IN rarray(?1) ORDER BY id")
            .and_then(|mut s| {
                s.query_map(
                    [super::convert::text_array(ws.iter().map(String::as_str))],
                    |r| r.get(0),
                )?
                .collect()
            })
            .map_err(db_err)?,
    };
    roles_by_ids(c, ids)
}

fn role_name_taken(c: &Connection, workspace: &str, name: &str) -> Result<Option<i64>> {
    c.prepare_cached("SELECT id FROM auth_roles WHERE workspace = ?1 AND name = ?2")
        .and_then(|mut s| s.query_row([workspace, name], |r| r.get(0)).optional())
        .map_err(db_err)
}

pub(crate) fn insert_role(
    c: &Connection,
    workspace: &str,
    name: &str,
    description: Option<&str>,
) -> Result<Role> {
    if role_name_taken(c, workspace, name)?.is_some() {
        return Err(Error::already_exists(format!(
            "Role (name={name}, workspace={workspace}) already exists."
        )));
    }
    c.execute(
        "INSERT INTO auth_roles (name, workspace, description) VALUES (?1, ?2, ?3)",
        params![name, workspace, description],
    )
    .map_err(db_err)?;
    role(c, c.last_insert_rowid())?.ok_or_else(|| Error::internal("role vanished"))
}

fn role_not_found(id: i64) -> Error {
    Error::not_found(format!("Role with id={id} not found"))
}

pub(crate) fn update_role(c: &Connection, id: i64, u: &RoleUpdate) -> Result<Role> {
    let existing = role_row(c, id)?.ok_or_else(|| role_not_found(id))?;
    if let Some(name) = &u.name {
        if role_name_taken(c, &existing.workspace, name)?.is_some_and(|other| other != id) {
            return Err(Error::already_exists(format!(
                "Role with name={name} already exists in workspace={}",
                existing.workspace
            )));
        }
    }
    let name = u.name.clone().unwrap_or(existing.name);
    let description = u.description.clone().unwrap_or(existing.description);
    c.execute(
        "UPDATE auth_roles SET name = ?2, description = ?3 WHERE id = ?1",
        params![id, name, description],
    )
    .map_err(db_err)?;
    role(c, id)?.ok_or_else(|| role_not_found(id))
}

pub(crate) fn delete_role(c: &Connection, id: i64) -> Result<()> {
    if role_row(c, id)?.is_none() {
        return Err(role_not_found(id));
    }
    c.execute("DELETE FROM auth_roles WHERE id = ?1", [id])
        .map_err(db_err)?;
    Ok(())
}

fn permission_on(c: &Connection, role_id: i64, t: GrantType, pattern: &str) -> Result<Option<i64>> {
    c.prepare_cached(
        "SELECT id FROM auth_role_permissions \
         WHERE role_id = ?1 AND resource_type = ?2 AND resource_pattern = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![role_id, t.as_str(), pattern], |r| r.get(0))
            .optional()
    })
    .map_err(db_err)
}

pub(crate) fn add_role_permission(
    c: &Connection,
    role_id: i64,
    g: &Grant,
) -> Result<RolePermission> {
    if role_row(c, role_id)?.is_none() {
        return Err(role_not_found(role_id));
    }
    if permission_on(c, role_id, g.resource_type, &g.pattern)?.is_some() {
        return Err(Error::already_exists(format!(
            "Role permission (role_id={role_id}, resource_type={}, resource_pattern={}) already exists.",
            g.resource_type.as_str(),
            g.pattern
        )));
    }
    insert_permission(c, role_id, g)
}

fn insert_permission(c: &Connection, role_id: i64, g: &Grant) -> Result<RolePermission> {
    c.execute(
        "INSERT INTO auth_role_permissions (role_id, resource_type, resource_pattern, permission) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            role_id,
            g.resource_type.as_str(),
            g.pattern,
            g.permission.as_str()
        ],
    )
    .map_err(db_err)?;
    Ok(RolePermission {
        id: c.last_insert_rowid(),
        role_id,
        grant: g.clone(),
    })
}

pub(crate) fn role_permission(c: &Connection, id: i64) -> Result<Option<RolePermission>> {
    c.prepare_cached(
        "SELECT id, role_id, resource_type, resource_pattern, permission \
         FROM auth_role_permissions WHERE id = ?1",
    )
    .and_then(|mut s| s.query_row([id], role_permission_from_row).optional())
    .map_err(db_err)
}

fn role_permission_not_found(id: i64) -> Error {
    Error::not_found(format!("Role permission with id={id} not found"))
}

pub(crate) fn update_role_permission(
    c: &Connection,
    id: i64,
    permission: Permission,
) -> Result<RolePermission> {
    let mut rp = role_permission(c, id)?.ok_or_else(|| role_permission_not_found(id))?;
    c.execute(
        "UPDATE auth_role_permissions SET permission = ?2 WHERE id = ?1",
        params![id, permission.as_str()],
    )
    .map_err(db_err)?;
    rp.grant.permission = permission;
    Ok(rp)
}

pub(crate) fn remove_role_permission(c: &Connection, id: i64) -> Result<()> {
    if role_permission(c, id)?.is_none() {
        return Err(role_permission_not_found(id));
    }
    c.execute("DELETE FROM auth_role_permissions WHERE id = ?1", [id])
        .map_err(db_err)?;
    Ok(())
}

fn assignment(c: &Connection, user_id: i64, role_id: i64) -> Result<Option<Assignment>> {
    c.prepare_cached(
        "SELECT id, user_id, role_id FROM auth_role_assignments WHERE user_id = ?1 AND role_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row([user_id, role_id], |r| {
            Ok(Assignment {
                id: r.get(0)?,
                user_id: r.get(1)?,
                role_id: r.get(2)?,
            })
        })
        .optional()
    })
    .map_err(db_err)
}

pub(crate) fn assign_role(c: &Connection, user_id: i64, role_id: i64) -> Result<Assignment> {
    if user_by_id(c, user_id)?.is_none() {
        return Err(user_not_found(user_id));
    }
    if role_row(c, role_id)?.is_none() {
        return Err(role_not_found(role_id));
    }
    if assignment(c, user_id, role_id)?.is_some() {
        return Err(Error::already_exists(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) already exists"
        )));
    }
    c.execute(
        "INSERT INTO auth_role_assignments (user_id, role_id) VALUES (?1, ?2)",
        [user_id, role_id],
    )
    .map_err(db_err)?;
    Ok(Assignment {
        id: c.last_insert_rowid(),
        user_id,
        role_id,
    })
}

pub(crate) fn unassign_role(c: &Connection, user_id: i64, role_id: i64) -> Result<()> {
    let n = c
        .execute(
            "DELETE FROM auth_role_assignments WHERE user_id = ?1 AND role_id = ?2",
            [user_id, role_id],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(Error::not_found(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) not found"
        )));
    }
    Ok(())
}

pub(crate) fn role_assignments(c: &Connection, role_id: i64) -> Result<Vec<Assignment>> {
    let mut s = c
        .prepare_cached(
            "SELECT id, user_id, role_id FROM auth_role_assignments WHERE role_id = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    s.query_map([role_id], |r| {
        Ok(Assignment {
            id: r.get(0)?,
            user_id: r.get(1)?,
            role_id: r.get(2)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}

pub(crate) fn user_roles(c: &Connection, user_id: i64) -> Result<Vec<Role>> {
    let ids: Vec<i64> = c
        .prepare_cached(
            "SELECT role_id FROM auth_role_assignments WHERE user_id = ?1 ORDER BY role_id",
        )
        .and_then(|mut s| s.query_map([user_id], |r| r.get(0))?.collect())
        .map_err(db_err)?;
    roles_by_ids(c, ids)
}

/// The user's own role in `workspace`, if it exists.
fn own_role(c: &Connection, user_id: i64, workspace: &str) -> Result<Option<i64>> {
    role_name_taken(c, workspace, &user_role_name(user_id))
}

pub(crate) fn grant_user(
    c: &Connection,
    user_id: i64,
    workspace: &str,
    g: &Grant,
    replace: bool,
) -> Result<()> {
    if user_by_id(c, user_id)?.is_none() {
        return Err(user_not_found(user_id));
    }
    let role_id = own_role(c, user_id, workspace)?;
    let existing = match role_id {
        Some(r) => permission_on(c, r, g.resource_type, &g.pattern)?,
        None => None,
    };
    if existing.is_some() && !replace {
        return Err(Error::already_exists(format!(
            "Permission on resource_type={}, resource_id={} already exists.",
            g.resource_type.as_str(),
            g.pattern
        )));
    }
    let role_id = match role_id {
        Some(r) => r,
        None => {
            let role = insert_role(c, workspace, &user_role_name(user_id), None)?;
            assign_role(c, user_id, role.id)?;
            role.id
        }
    };
    match existing {
        Some(id) => update_role_permission(c, id, g.permission).map(drop),
        None => insert_permission(c, role_id, g).map(drop),
    }
}

pub(crate) fn revoke_user(
    c: &Connection,
    user_id: i64,
    workspace: &str,
    t: GrantType,
    pattern: &str,
) -> Result<bool> {
    let Some(role_id) = own_role(c, user_id, workspace)? else {
        return Ok(false);
    };
    let n = c
        .execute(
            "DELETE FROM auth_role_permissions \
             WHERE role_id = ?1 AND resource_type = ?2 AND resource_pattern = ?3",
            params![role_id, t.as_str(), pattern],
        )
        .map_err(db_err)?;
    Ok(n > 0)
}

pub(crate) fn rename_grants(
    c: &Connection,
    types: &[GrantType],
    from: &str,
    to: &str,
) -> Result<()> {
    let types = super::convert::text_array(types.iter().map(|t| t.as_str()));
    c.execute(
        "UPDATE OR REPLACE auth_role_permissions SET resource_pattern = ?3 \
         WHERE resource_type IN rarray(?1) AND resource_pattern = ?2",
        params![types, from, to],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn holdings(
    c: &Connection,
    holder: &OwnedHolder,
    workspace: &str,
    keys: &[(GrantType, Option<String>)],
) -> Result<Holdings> {
    // Workspace grants always bear; each key adds its type's `*` and its own ID.
    let mut types = vec![GrantType::Workspace.as_str()];
    let mut patterns = vec!["*".to_owned()];
    for (t, id) in keys {
        types.push(t.as_str());
        if let Some(id) = id {
            patterns.push(id.clone());
        }
    }
    let mut s = c
        .prepare_cached(
            "SELECT p.resource_type, p.resource_pattern, p.permission \
             FROM auth_roles r \
             JOIN auth_role_permissions p ON p.role_id = r.id \
             WHERE r.workspace = ?2 \
               AND r.id IN (SELECT role_id FROM auth_role_assignments WHERE user_id = ?1 \
                            UNION SELECT id FROM auth_roles \
                                  WHERE workspace = ?2 AND name IN rarray(?5) \
                                    AND name NOT LIKE '\\_\\_user\\_%' ESCAPE '\\') \
               AND p.resource_type IN rarray(?3) AND p.resource_pattern IN rarray(?4)",
        )
        .map_err(db_err)?;
    let rows = s
        .query_map(
            params![
                holder.user_id,
                workspace,
                super::convert::text_array(types),
                super::convert::text_array(patterns.iter().map(String::as_str)),
                super::convert::text_array(holder.groups.iter().map(String::as_str)),
            ],
            grant_row,
        )
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(db_err)?;
    // The IN lists cross types with patterns; keep only rows one of the keys asks for.
    let wanted = |g: &Grant| {
        g.resource_type == GrantType::Workspace
            || keys.iter().any(|(t, id)| {
                *t == g.resource_type && (g.pattern == "*" || id.as_deref() == Some(&g.pattern))
            })
    };
    Ok(Holdings::new(rows.into_iter().filter(wanted).collect()))
}

pub(crate) fn resource_holders(
    c: &Connection,
    workspace: &str,
    resource_type: GrantType,
    id: &str,
    limit: i64,
) -> Result<Vec<ResourceHolder>> {
    let mut s = c
        .prepare_cached(
            "SELECT r.id, r.name, p.resource_type, p.resource_pattern, p.permission, u.username \
             FROM auth_roles r \
             JOIN auth_role_permissions p ON p.role_id = r.id \
             LEFT JOIN auth_role_assignments a ON a.role_id = r.id \
             LEFT JOIN auth_users u ON u.id = a.user_id \
             WHERE r.workspace = ?1 \
               AND ((p.resource_type = ?2 AND p.resource_pattern IN (?3, '*')) \
                    OR (p.resource_type = 'workspace' AND p.resource_pattern = '*' \
                        AND p.permission = 'MANAGE')) \
             ORDER BY r.name, r.id, p.resource_type, p.resource_pattern, u.username \
             LIMIT ?4",
        )
        .map_err(db_err)?;
    let rows = s
        .query_map(params![workspace, resource_type.as_str(), id, limit], |r| {
            let t: String = r.get(2)?;
            let p: String = r.get(4)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                grant_from(&t, r.get(3)?, &p)?,
                r.get(5)?,
            ))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(db_err)?;
    Ok(ResourceHolder::group(rows))
}

pub(crate) fn grants_of_types(
    c: &Connection,
    holder: &OwnedHolder,
    workspace: &str,
    types: &[GrantType],
) -> Result<Holdings> {
    let mut s = c
        .prepare_cached(
            "SELECT p.resource_type, p.resource_pattern, p.permission \
             FROM auth_roles r \
             JOIN auth_role_permissions p ON p.role_id = r.id \
             WHERE r.workspace = ?2 \
               AND r.id IN (SELECT role_id FROM auth_role_assignments WHERE user_id = ?1 \
                            UNION SELECT id FROM auth_roles \
                                  WHERE workspace = ?2 AND name IN rarray(?4) \
                                    AND name NOT LIKE '\\_\\_user\\_%' ESCAPE '\\') \
               AND p.resource_type IN rarray(?3)",
        )
        .map_err(db_err)?;
    let grants = s
        .query_map(
            params![
                holder.user_id,
                workspace,
                super::convert::text_array(types.iter().map(|t| t.as_str())),
                super::convert::text_array(holder.groups.iter().map(String::as_str)),
            ],
            grant_row,
        )
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(db_err)?;
    Ok(Holdings::new(grants))
}

/// A holder, owned, for moving into a store closure.
pub(crate) struct OwnedHolder {
    pub user_id: i64,
    pub groups: Vec<String>,
}

impl From<Holder<'_>> for OwnedHolder {
    fn from(h: Holder<'_>) -> Self {
        Self {
            user_id: h.user_id,
            groups: h.groups.to_vec(),
        }
    }
}

/// Owned keys, for moving into a store closure.
pub(crate) fn owned_keys(keys: &[Key<'_>]) -> Vec<(GrantType, Option<String>)> {
    keys.iter()
        .map(|k| (k.resource_type, k.id.map(str::to_owned)))
        .collect()
}

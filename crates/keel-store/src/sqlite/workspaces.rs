//! `WorkspaceStore` for SQLite: the workspace catalogue, and deleting a workspace with what is
//! in it (experiments, registered models and prompts, webhooks) in one savepoint on the writer,
//! so a refusal leaves everything as it was.

use async_trait::async_trait;
use keel_core::workspaces::{
    DEFAULT_WORKSPACE, DeletionMode, Workspace, WorkspaceStore, names_taken_in_default, not_empty,
    not_found as workspace_not_found,
};
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_err, is_unique_violation};
use crate::workspace_tables::{HELD, HeldTable};

const COLUMNS: &str = "name, description, default_artifact_root";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        name: r.get(0)?,
        description: r.get(1)?,
        default_artifact_root: r.get(2)?,
    })
}

fn list(c: &Connection) -> Result<Vec<Workspace>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM workspaces ORDER BY name"))
        .and_then(|mut s| s.query_map([], row)?.collect())
        .map_err(db_err)
}

fn get(c: &Connection, name: &str) -> Result<Option<Workspace>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = ?1"))
        .and_then(|mut s| s.query_row([name], row).optional())
        .map_err(db_err)
}

fn insert(c: &Connection, w: &Workspace) -> Result<()> {
    c.execute(
        "INSERT INTO workspaces (name, description, default_artifact_root) VALUES (?1, ?2, ?3)",
        params![w.name, w.description, w.default_artifact_root],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::already_exists(format!("Workspace '{}' already exists.", w.name))
        } else {
            db_err(e)
        }
    })?;
    Ok(())
}

fn update(c: &Connection, w: &Workspace) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE workspaces SET description = ?2, default_artifact_root = ?3 WHERE name = ?1",
            params![w.name, w.description, w.default_artifact_root],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

fn delete(c: &Connection, name: &str, mode: DeletionMode) -> Result<()> {
    if get(c, name)?.is_none() {
        return Err(workspace_not_found(name));
    }
    match mode {
        DeletionMode::Restrict => {
            for HeldTable { table, live, .. } in HELD {
                let count: i64 = c
                    .query_row(
                        &format!("SELECT COUNT(*) FROM {table} WHERE workspace = ?1 AND {live}"),
                        [name],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if count > 0 {
                    return Err(not_empty(name, table, count));
                }
            }
            // Webhooks already deleted (kept for their history) go with the workspace.
            c.execute("DELETE FROM webhooks WHERE workspace = ?1", [name])
                .map_err(db_err)?;
        }
        DeletionMode::Cascade => {
            // Everything else (runs, traces, logged models, versions, deliveries) cascades.
            for HeldTable { table, .. } in HELD {
                c.execute(&format!("DELETE FROM {table} WHERE workspace = ?1"), [name])
                    .map_err(db_err)?;
            }
        }
        DeletionMode::SetDefault => {
            let mut taken = Vec::new();
            for (table, column) in HELD.iter().filter_map(|h| Some((h.table, h.unique_name?))) {
                let sql = format!(
                    "SELECT '{table}: ' || e.{column} FROM {table} e WHERE e.workspace = ?1 \
                     AND EXISTS (SELECT 1 FROM {table} d WHERE d.workspace = ?2 \
                         AND d.{column} = e.{column}) ORDER BY e.{column}"
                );
                let clashes: Vec<String> = c
                    .prepare(&sql)
                    .and_then(|mut s| {
                        s.query_map([name, DEFAULT_WORKSPACE], |r| r.get(0))?
                            .collect()
                    })
                    .map_err(db_err)?;
                taken.extend(clashes);
            }
            if !taken.is_empty() {
                return Err(names_taken_in_default(name, &taken));
            }
            for HeldTable { table, .. } in HELD {
                c.execute(
                    &format!("UPDATE {table} SET workspace = ?2 WHERE workspace = ?1"),
                    [name, DEFAULT_WORKSPACE],
                )
                .map_err(db_err)?;
            }
        }
    }
    // Roles are scoped to one workspace; their grants and assignments cascade.
    c.execute("DELETE FROM auth_roles WHERE workspace = ?1", [name])
        .map_err(db_err)?;
    c.execute("DELETE FROM workspaces WHERE name = ?1", [name])
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        self.read(list).await
    }

    async fn get_workspace(&self, name: &str) -> Result<Option<Workspace>> {
        let name = name.to_owned();
        self.read(move |c| get(c, &name)).await
    }

    async fn insert_workspace(&self, workspace: &Workspace) -> Result<()> {
        let w = workspace.clone();
        self.write(move |c| insert(c, &w)).await
    }

    async fn update_workspace(&self, workspace: &Workspace) -> Result<bool> {
        let w = workspace.clone();
        self.write(move |c| update(c, &w)).await
    }

    async fn delete_workspace(&self, name: &str, mode: DeletionMode) -> Result<()> {
        let name = name.to_owned();
        self.write(move |c| delete(c, &name, mode)).await
    }
}

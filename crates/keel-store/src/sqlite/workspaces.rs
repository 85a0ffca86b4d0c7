//! `WorkspaceStore` for SQLite: the workspace catalogue, and deleting a workspace with what is
//! in it (one savepoint on the writer, so a refusal leaves everything as it was).

use async_trait::async_trait;
use keel_core::workspaces::{
    DEFAULT_WORKSPACE, DeletionMode, Workspace, WorkspaceStore, names_taken_in_default, not_empty,
    not_found as workspace_not_found,
};
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_err, is_unique_violation};

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
            let count: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM experiments WHERE workspace = ?1",
                    [name],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if count > 0 {
                return Err(not_empty(name, "experiments", count));
            }
        }
        DeletionMode::Cascade => {
            // Every row of an experiment's runs, traces and logged models cascades from it.
            c.execute("DELETE FROM experiments WHERE workspace = ?1", [name])
                .map_err(db_err)?;
        }
        DeletionMode::SetDefault => {
            let taken: Vec<String> = c
                .prepare(
                    "SELECT e.name FROM experiments e WHERE e.workspace = ?1 AND EXISTS \
                     (SELECT 1 FROM experiments d WHERE d.workspace = ?2 AND d.name = e.name) \
                     ORDER BY e.name",
                )
                .and_then(|mut s| {
                    s.query_map([name, DEFAULT_WORKSPACE], |r| r.get(0))?
                        .collect()
                })
                .map_err(db_err)?;
            if !taken.is_empty() {
                let taken: Vec<String> =
                    taken.iter().map(|n| format!("experiments: {n}")).collect();
                return Err(names_taken_in_default(name, &taken));
            }
            c.execute(
                "UPDATE experiments SET workspace = ?2 WHERE workspace = ?1",
                [name, DEFAULT_WORKSPACE],
            )
            .map_err(db_err)?;
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

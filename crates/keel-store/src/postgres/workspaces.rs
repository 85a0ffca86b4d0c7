//! `WorkspaceStore` for PostgreSQL: the workspace catalogue, and deleting a workspace with what
//! is in it (experiments, registered models and prompts, webhooks) in one transaction. The
//! workspace's row is locked first, and they reference it by foreign key, so nothing can be
//! created in a workspace being deleted.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::workspaces::{
    DEFAULT_WORKSPACE, DeletionMode, Workspace, WorkspaceStore, names_taken_in_default, not_empty,
    not_found as workspace_not_found,
};
use sqlx::PgConnection;

use super::PostgresStore;
use super::error::{Failure, PgResult, UNIQUE_VIOLATION};
use crate::workspace_tables::{HELD, HeldTable};

const COLUMNS: &str = "name, description, default_artifact_root";

type Row = (String, Option<String>, Option<String>);

fn workspace((name, description, default_artifact_root): Row) -> Workspace {
    Workspace {
        name,
        description,
        default_artifact_root,
    }
}

async fn list(c: &mut PgConnection) -> PgResult<Vec<Workspace>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM workspaces ORDER BY name"))
        .fetch_all(&mut *c)
        .await?;
    Ok(rows.into_iter().map(workspace).collect())
}

async fn get(c: &mut PgConnection, name: &str) -> PgResult<Option<Workspace>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = $1"))
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
    Ok(row.map(workspace))
}

async fn insert(c: &mut PgConnection, w: &Workspace) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO workspaces (name, description, default_artifact_root) VALUES ($1, $2, $3)",
    )
    .bind(&w.name)
    .bind(&w.description)
    .bind(&w.default_artifact_root)
    .execute(&mut *c)
    .await
    .map_err(|e| {
        let failure = Failure::from(e);
        if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION) {
            keel_core::Error::already_exists(format!("Workspace '{}' already exists.", w.name))
                .into()
        } else {
            failure
        }
    })?;
    Ok(())
}

async fn update(c: &mut PgConnection, w: &Workspace) -> PgResult<bool> {
    let done = sqlx::query(
        "UPDATE workspaces SET description = $2, default_artifact_root = $3 WHERE name = $1",
    )
    .bind(&w.name)
    .bind(&w.description)
    .bind(&w.default_artifact_root)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn delete(c: &mut PgConnection, name: &str, mode: DeletionMode) -> PgResult<()> {
    // Waits for creations in the workspace to commit, and keeps new ones out.
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM workspaces WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
    if exists.is_none() {
        return Err(workspace_not_found(name).into());
    }
    match mode {
        DeletionMode::Restrict => {
            for HeldTable { table, live, .. } in HELD {
                let count: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE workspace = $1 AND {live}"
                ))
                .bind(name)
                .fetch_one(&mut *c)
                .await?;
                if count > 0 {
                    return Err(not_empty(name, table, count).into());
                }
            }
            // Webhooks already deleted (kept for their history) go with the workspace.
            sqlx::query("DELETE FROM webhooks WHERE workspace = $1")
                .bind(name)
                .execute(&mut *c)
                .await?;
        }
        DeletionMode::Cascade => {
            // Runs are locked before they go (as `keel gc` does) and their metric points, which
            // have no foreign key to cascade, go with them; everything else cascades.
            let run_keys: Vec<i64> = sqlx::query_scalar(
                "SELECT r.run_key FROM runs r JOIN experiments e USING (experiment_id) \
                 WHERE e.workspace = $1 ORDER BY r.run_key FOR UPDATE OF r",
            )
            .bind(name)
            .fetch_all(&mut *c)
            .await?;
            sqlx::query("DELETE FROM metrics WHERE run_key = ANY($1)")
                .bind(&run_keys)
                .execute(&mut *c)
                .await?;
            for HeldTable { table, .. } in HELD {
                sqlx::query(&format!("DELETE FROM {table} WHERE workspace = $1"))
                    .bind(name)
                    .execute(&mut *c)
                    .await?;
            }
        }
        DeletionMode::SetDefault => {
            let mut taken = Vec::new();
            for (table, column) in HELD.iter().filter_map(|h| Some((h.table, h.unique_name?))) {
                let clashes: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT '{table}: ' || e.{column} FROM {table} e WHERE e.workspace = $1 \
                     AND EXISTS (SELECT 1 FROM {table} d WHERE d.workspace = $2 \
                         AND d.{column} = e.{column}) ORDER BY e.{column}"
                ))
                .bind(name)
                .bind(DEFAULT_WORKSPACE)
                .fetch_all(&mut *c)
                .await?;
                taken.extend(clashes);
            }
            if !taken.is_empty() {
                return Err(names_taken_in_default(name, &taken).into());
            }
            for HeldTable { table, .. } in HELD {
                sqlx::query(&format!(
                    "UPDATE {table} SET workspace = $2 WHERE workspace = $1"
                ))
                .bind(name)
                .bind(DEFAULT_WORKSPACE)
                .execute(&mut *c)
                .await?;
            }
        }
    }
    // Roles are scoped to one workspace; their grants and assignments cascade.
    sqlx::query("DELETE FROM auth_roles WHERE workspace = $1")
        .bind(name)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM workspaces WHERE name = $1")
        .bind(name)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[async_trait]
impl WorkspaceStore for PostgresStore {
    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        self.read(&(), |c, _| Box::pin(list(c))).await
    }

    async fn get_workspace(&self, name: &str) -> Result<Option<Workspace>> {
        self.read(name, |c, name| Box::pin(get(c, name))).await
    }

    async fn insert_workspace(&self, workspace: &Workspace) -> Result<()> {
        self.write(workspace, |c, w| Box::pin(insert(c, w))).await
    }

    async fn update_workspace(&self, workspace: &Workspace) -> Result<bool> {
        self.write(workspace, |c, w| Box::pin(update(c, w))).await
    }

    async fn delete_workspace(&self, name: &str, mode: DeletionMode) -> Result<()> {
        self.write(name, move |c, name| Box::pin(delete(c, name, mode)))
            .await
    }
}

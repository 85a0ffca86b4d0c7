//! SQL for the model registry on PostgreSQL: registered models, versions, tags and aliases.
//!
//! Every write locks the registered model's row first (`FOR UPDATE` when it creates a version,
//! renames or deletes, else `FOR NO KEY UPDATE`), so writes to one model are serialized and a
//! new version's number (`last_version + 1`) is never handed out twice. Then come version rows,
//! then (creating a version from a logged model) the logged model's row: one lock order for the
//! whole registry, and tracking writes never lock registry rows.

use std::collections::HashMap;

use keel_core::registry::{
    ModelVersionQuery, NewModelVersion, RegisteredModelQuery, model_version_not_found,
    registered_model_exists, registered_model_not_found,
};
use keel_core::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult, UNIQUE_VIOLATION};
use crate::search_sql::{self, Dialect};

const VERSION_COLUMNS: &str = "mv.model_key, mv.version, rm.name, mv.creation_time, \
     mv.last_updated_time, mv.description, mv.user_id, mv.current_stage, mv.source, \
     mv.storage_location, mv.run_id, mv.run_link, mv.status, mv.status_message, mv.model_id";

fn unexpected(what: String) -> Failure {
    Error::internal(format!("unexpected {what} in database")).into()
}

fn version_from_row(r: &PgRow) -> PgResult<(i64, ModelVersion)> {
    let stage: String = r.try_get(7)?;
    let status: String = r.try_get(12)?;
    let run_id: String = r.try_get(10)?;
    Ok((
        r.try_get(0)?,
        ModelVersion {
            version: r.try_get(1)?,
            name: r.try_get(2)?,
            creation_timestamp: r.try_get(3)?,
            last_updated_timestamp: r.try_get(4)?,
            description: r.try_get(5)?,
            user_id: r.try_get(6)?,
            current_stage: Stage::parse(&stage)
                .map_err(|_| unexpected(format!("stage '{stage}'")))?,
            source: r.try_get(8)?,
            storage_location: r.try_get(9)?,
            run_id: Some(run_id).filter(|r| !r.is_empty()),
            run_link: r.try_get(11)?,
            status: ModelVersionStatus::parse(&status)
                .ok_or_else(|| unexpected(format!("version status '{status}'")))?,
            status_message: r.try_get(13)?,
            tags: Vec::new(),
            aliases: Vec::new(),
            model_id: r.try_get(14)?,
        },
    ))
}

/// A model created in a workspace deleted meanwhile: the workspace is not found.
fn missing_workspace(failure: Failure, workspace: &str) -> Failure {
    if failure.constraint() == Some("registered_models_workspace_fkey") {
        return keel_core::workspaces::not_found(workspace).into();
    }
    failure
}

/// Locks the model's row and returns its key and last version number.
async fn lock_model(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    for_update: bool,
) -> PgResult<(i64, i64)> {
    let sql = if for_update {
        "SELECT model_key, last_version FROM registered_models \
         WHERE workspace = $1 AND name = $2 FOR UPDATE"
    } else {
        "SELECT model_key, last_version FROM registered_models \
         WHERE workspace = $1 AND name = $2 FOR NO KEY UPDATE"
    };
    let found: Option<(i64, i64)> = sqlx::query_as(sql)
        .bind(ws)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    found.ok_or_else(|| registered_model_not_found(name).into())
}

/// Locks the model's row and checks the version exists; returns the model's key.
async fn lock_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
) -> PgResult<i64> {
    let (key, _) = lock_model(conn, ws, name, false).await?;
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM model_versions WHERE model_key = $1 AND version = $2")
            .bind(key)
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?;
    found
        .map(|_| key)
        .ok_or_else(|| model_version_not_found(name, version).into())
}

async fn touch_model(conn: &mut PgConnection, key: i64, now: i64) -> PgResult<()> {
    sqlx::query("UPDATE registered_models SET last_updated_time = $1 WHERE model_key = $2")
        .bind(now)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Tags sorted by key (one lock order for concurrent upserts).
fn sorted_tags(tags: &[Tag]) -> (Vec<&str>, Vec<&str>) {
    let mut rows: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    rows.sort_unstable();
    rows.dedup_by(|a, b| a.0 == b.0);
    rows.into_iter().unzip()
}

async fn upsert_model_tag(conn: &mut PgConnection, key: i64, tag: &Tag) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO registered_model_tags (model_key, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (model_key, key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_version_tag(
    conn: &mut PgConnection,
    key: i64,
    version: i64,
    tag: &Tag,
) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO model_version_tags (model_key, version, key, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (model_key, version, key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(version)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_model(conn: &mut PgConnection, m: &RegisteredModel) -> PgResult<()> {
    let key: Option<i64> = sqlx::query_scalar(
        "INSERT INTO registered_models (workspace, name, creation_time, last_updated_time, \
         description) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace, name) DO NOTHING RETURNING model_key",
    )
    .bind(&m.workspace)
    .bind(&m.name)
    .bind(m.creation_timestamp)
    .bind(m.last_updated_timestamp)
    .bind(m.description.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| missing_workspace(Failure::Db(e), &m.workspace))?;
    let key = key.ok_or_else(|| registered_model_exists(&m.name))?;
    if !m.tags.is_empty() {
        let (keys, values) = sorted_tags(&m.tags);
        sqlx::query(
            "INSERT INTO registered_model_tags (model_key, key, value) \
             SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS t (k, v)",
        )
        .bind(key)
        .bind(&keys)
        .bind(&values)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn rename_model(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    new_name: &str,
    now: i64,
) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, true).await?;
    let renamed = sqlx::query(
        "UPDATE registered_models SET name = $1, last_updated_time = $2 WHERE model_key = $3",
    )
    .bind(new_name)
    .bind(now)
    .bind(key)
    .execute(&mut *conn)
    .await;
    if let Err(e) = renamed {
        let failure = Failure::Db(e);
        if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION) {
            return Err(registered_model_exists(new_name).into());
        }
        return Err(failure);
    }
    sqlx::query("UPDATE model_versions SET last_updated_time = $1 WHERE model_key = $2")
        .bind(now)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn update_model(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    description: Option<&str>,
    now: i64,
) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, false).await?;
    sqlx::query(
        "UPDATE registered_models SET description = $1, last_updated_time = $2 \
         WHERE model_key = $3",
    )
    .bind(description)
    .bind(now)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_model(conn: &mut PgConnection, ws: &str, name: &str) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, true).await?;
    sqlx::query("DELETE FROM registered_models WHERE model_key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn set_model_tag(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    tag: &Tag,
) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, false).await?;
    upsert_model_tag(conn, key, tag).await
}

pub(crate) async fn delete_model_tag(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    tag_key: &str,
) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, false).await?;
    sqlx::query("DELETE FROM registered_model_tags WHERE model_key = $1 AND key = $2")
        .bind(key)
        .bind(tag_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn set_alias(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    alias: &str,
    version: i64,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    sqlx::query(
        "INSERT INTO registered_model_aliases (model_key, alias, version) VALUES ($1, $2, $3) \
         ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
    )
    .bind(key)
    .bind(alias)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_alias(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    alias: &str,
) -> PgResult<()> {
    let (key, _) = lock_model(conn, ws, name, false).await?;
    sqlx::query("DELETE FROM registered_model_aliases WHERE model_key = $1 AND alias = $2")
        .bind(key)
        .bind(alias)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn alias_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    alias: &str,
) -> PgResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT a.version FROM registered_model_aliases a \
         JOIN registered_models rm ON rm.model_key = a.model_key \
         WHERE rm.workspace = $1 AND rm.name = $2 AND a.alias = $3",
    )
    .bind(ws)
    .bind(name)
    .bind(alias)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Locks the model's row (so concurrent creations queue), takes the next number and inserts the
/// version; then updates the logged model's tag listing its versions, if the model still exists.
pub(crate) async fn insert_version(conn: &mut PgConnection, v: &NewModelVersion) -> PgResult<i64> {
    let (key, last) = lock_model(conn, &v.workspace, &v.name, true).await?;
    let version = last + 1;
    sqlx::query(
        "UPDATE registered_models SET last_version = $1, last_updated_time = $2 \
         WHERE model_key = $3",
    )
    .bind(version)
    .bind(v.creation_timestamp)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO model_versions (model_key, version, creation_time, last_updated_time, \
         description, user_id, current_stage, source, storage_location, run_id, run_link, \
         status, status_message, model_id) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(key)
    .bind(version)
    .bind(v.creation_timestamp)
    .bind(v.description.as_deref())
    .bind(v.user_id.as_deref())
    .bind(Stage::None.as_str())
    .bind(&v.source)
    .bind(v.storage_location.as_deref())
    .bind(v.run_id.as_deref().unwrap_or(""))
    .bind(v.run_link.as_deref())
    .bind(v.status.as_str())
    .bind(v.status_message.as_deref())
    .bind(v.model_id.as_deref())
    .execute(&mut *conn)
    .await?;
    if !v.tags.is_empty() {
        let (keys, values) = sorted_tags(&v.tags);
        sqlx::query(
            "INSERT INTO model_version_tags (model_key, version, key, value) \
             SELECT $1, $2, k, v FROM UNNEST($3::text[], $4::text[]) AS t (k, v)",
        )
        .bind(key)
        .bind(version)
        .bind(&keys)
        .bind(&values)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(link) = &v.link {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM logged_models WHERE model_id = $1 FOR NO KEY UPDATE")
                .bind(&link.model_id)
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_some() {
            let current: Option<String> = sqlx::query_scalar(
                "SELECT value FROM logged_model_tags WHERE model_id = $1 AND key = $2",
            )
            .bind(&link.model_id)
            .bind(&link.tag_key)
            .fetch_optional(&mut *conn)
            .await?;
            let value = (link.update)(current.as_deref(), version)?;
            sqlx::query(
                "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(&link.model_id)
            .bind(&link.tag_key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(version)
}

pub(crate) async fn update_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
    description: Option<&str>,
    now: i64,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    sqlx::query(
        "UPDATE model_versions SET description = $1, last_updated_time = $2 \
         WHERE model_key = $3 AND version = $4",
    )
    .bind(description)
    .bind(now)
    .bind(key)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn transition_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
    stage: Stage,
    archive_existing: bool,
    now: i64,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    if archive_existing {
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_updated_time = $2 \
             WHERE model_key = $3 AND version != $4 AND current_stage = $5",
        )
        .bind(Stage::Archived.as_str())
        .bind(now)
        .bind(key)
        .bind(version)
        .bind(stage.as_str())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE model_versions SET current_stage = $1, last_updated_time = $2 \
         WHERE model_key = $3 AND version = $4",
    )
    .bind(stage.as_str())
    .bind(now)
    .bind(key)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    touch_model(conn, key, now).await
}

pub(crate) async fn delete_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
    now: i64,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    sqlx::query("DELETE FROM model_versions WHERE model_key = $1 AND version = $2")
        .bind(key)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    touch_model(conn, key, now).await
}

pub(crate) async fn set_version_tag(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
    tag: &Tag,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    upsert_version_tag(conn, key, version, tag).await
}

pub(crate) async fn delete_version_tag(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
    tag_key: &str,
) -> PgResult<()> {
    let key = lock_version(conn, ws, name, version).await?;
    sqlx::query(
        "DELETE FROM model_version_tags WHERE model_key = $1 AND version = $2 AND key = $3",
    )
    .bind(key)
    .bind(version)
    .bind(tag_key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn model_key(conn: &mut PgConnection, ws: &str, name: &str) -> PgResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT model_key FROM registered_models WHERE workspace = $1 AND name = $2",
    )
    .bind(ws)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?)
}

pub(crate) async fn get_model(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
) -> PgResult<Option<RegisteredModel>> {
    match model_key(conn, ws, name).await? {
        Some(key) => Ok(load_models(conn, &[key]).await?.pop()),
        None => Ok(None),
    }
}

pub(crate) async fn get_version(
    conn: &mut PgConnection,
    ws: &str,
    name: &str,
    version: i64,
) -> PgResult<Option<ModelVersion>> {
    match model_key(conn, ws, name).await? {
        Some(key) => Ok(load_versions(conn, &[(key, version)], true).await?.pop()),
        None => Ok(None),
    }
}

/// Models with these keys, in the given order, with tags, aliases and latest versions.
async fn load_models(conn: &mut PgConnection, keys: &[i64]) -> PgResult<Vec<RegisteredModel>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, i64, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT model_key, name, creation_time, last_updated_time, description, workspace \
         FROM registered_models WHERE model_key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_key: HashMap<i64, RegisteredModel> = rows
        .into_iter()
        .map(|(key, name, created, updated, description, workspace)| {
            (
                key,
                RegisteredModel {
                    workspace,
                    name,
                    creation_timestamp: created,
                    last_updated_timestamp: updated,
                    description,
                    latest_versions: Vec::new(),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                },
            )
        })
        .collect();
    let tags: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT model_key, key, value FROM registered_model_tags WHERE model_key = ANY($1) \
         ORDER BY model_key, key",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for (key, k, value) in tags {
        if let Some(m) = by_key.get_mut(&key) {
            m.tags.push(Tag { key: k, value });
        }
    }
    let aliases: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT model_key, alias, version FROM registered_model_aliases \
         WHERE model_key = ANY($1) ORDER BY model_key, alias",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for (key, alias, version) in aliases {
        if let Some(m) = by_key.get_mut(&key) {
            m.aliases.push(RegisteredModelAlias { alias, version });
        }
    }
    let mut latest: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT model_key, MAX(version) FROM model_versions WHERE model_key = ANY($1) \
         GROUP BY model_key, current_stage",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    latest.sort_unstable();
    let versions = load_versions(conn, &latest, false).await?;
    for (key, v) in latest.iter().map(|(k, _)| *k).zip(versions) {
        if let Some(m) = by_key.get_mut(&key) {
            m.latest_versions.push(v);
        }
    }
    Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
}

/// Versions with these `(model_key, version)` pairs, in the given order (missing ones left
/// out), with tags and, when `with_aliases`, aliases.
async fn load_versions(
    conn: &mut PgConnection,
    pairs: &[(i64, i64)],
    with_aliases: bool,
) -> PgResult<Vec<ModelVersion>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (keys, numbers): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM UNNEST($1::bigint[], $2::bigint[]) AS w (k, v) \
         JOIN model_versions mv ON mv.model_key = w.k AND mv.version = w.v \
         JOIN registered_models rm ON rm.model_key = mv.model_key"
    ))
    .bind(&keys)
    .bind(&numbers)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_pair: HashMap<(i64, i64), ModelVersion> = HashMap::with_capacity(pairs.len());
    for r in &rows {
        let (key, v) = version_from_row(r)?;
        by_pair.insert((key, v.version), v);
    }
    let tags: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT t.model_key, t.version, t.key, t.value \
         FROM UNNEST($1::bigint[], $2::bigint[]) AS w (k, v) \
         JOIN model_version_tags t ON t.model_key = w.k AND t.version = w.v \
         ORDER BY t.model_key, t.version, t.key",
    )
    .bind(&keys)
    .bind(&numbers)
    .fetch_all(&mut *conn)
    .await?;
    for (key, version, k, value) in tags {
        if let Some(v) = by_pair.get_mut(&(key, version)) {
            v.tags.push(Tag { key: k, value });
        }
    }
    if with_aliases {
        let aliases: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT a.model_key, a.version, a.alias \
             FROM UNNEST($1::bigint[], $2::bigint[]) AS w (k, v) \
             JOIN registered_model_aliases a ON a.model_key = w.k AND a.version = w.v \
             ORDER BY a.model_key, a.alias",
        )
        .bind(&keys)
        .bind(&numbers)
        .fetch_all(&mut *conn)
        .await?;
        for (key, version, alias) in aliases {
            if let Some(v) = by_pair.get_mut(&(key, version)) {
                v.aliases.push(alias);
            }
        }
    }
    Ok(pairs.iter().filter_map(|p| by_pair.remove(p)).collect())
}

/// Runs a compiled search and reads its rows with `read`.
async fn run_search<T: Send + Unpin>(
    conn: &mut PgConnection,
    compiled: &search_sql::CompiledQuery,
    read: impl Fn(&PgRow) -> PgResult<T>,
) -> PgResult<Vec<T>> {
    let rows = sqlx::query_with(&compiled.sql, super::search::arguments(&compiled.params)?)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(read).collect()
}

pub(crate) async fn search_models(
    conn: &mut PgConnection,
    q: &RegisteredModelQuery,
) -> PgResult<Vec<RegisteredModel>> {
    let compiled = search_sql::registered_model_search_sql(Dialect::Postgres, q);
    let keys = run_search(conn, &compiled, |r| Ok(r.try_get::<i64, _>(0)?)).await?;
    load_models(conn, &keys).await
}

pub(crate) async fn search_versions(
    conn: &mut PgConnection,
    q: &ModelVersionQuery,
) -> PgResult<Vec<ModelVersion>> {
    let compiled = search_sql::model_version_search_sql(Dialect::Postgres, q);
    let pairs = run_search(conn, &compiled, |r| {
        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
    })
    .await?;
    load_versions(conn, &pairs, false).await
}

//! SQL for the model registry on SQLite: registered models, versions, tags and aliases.
//!
//! Write functions run on the writer connection and do every check that can reject the request
//! before their first write (see `writer.rs`). Rows of a model are found through its integer
//! `model_key`; versions are loaded by `(model_key, version)` pairs packed into one integer for
//! `rarray()`.

use std::collections::HashMap;

use keel_core::registry::{
    ModelVersionQuery, NewModelVersion, RegisteredModelQuery, model_version_not_found,
    registered_model_exists, registered_model_not_found,
};
use keel_core::*;
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::int_array;
use super::load::for_each_row;
use super::{db_err, is_foreign_key_violation};
use crate::search_sql::{self, Dialect};

/// A `(model_key, version)` pair as one integer (`model_key * 2^32 + version`).
const PAIR_SHIFT: i64 = 1 << 32;

const VERSION_COLUMNS: &str = "mv.model_key, mv.version, rm.name, mv.creation_time, \
     mv.last_updated_time, mv.description, mv.user_id, mv.current_stage, mv.source, \
     mv.storage_location, mv.run_id, mv.run_link, mv.status, mv.status_message, mv.model_id";

fn invalid_column(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected {what} in database").into(),
    )
}

/// A version row (columns as [`VERSION_COLUMNS`]) and its model key.
fn version_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, ModelVersion)> {
    let stage: String = r.get(7)?;
    let status: String = r.get(12)?;
    let run_id: String = r.get(10)?;
    Ok((
        r.get(0)?,
        ModelVersion {
            version: r.get(1)?,
            name: r.get(2)?,
            creation_timestamp: r.get(3)?,
            last_updated_timestamp: r.get(4)?,
            description: r.get(5)?,
            user_id: r.get(6)?,
            current_stage: Stage::parse(&stage)
                .map_err(|_| invalid_column(format!("stage '{stage}'")))?,
            source: r.get(8)?,
            storage_location: r.get(9)?,
            run_id: Some(run_id).filter(|r| !r.is_empty()),
            run_link: r.get(11)?,
            status: ModelVersionStatus::parse(&status)
                .ok_or_else(|| invalid_column(format!("version status '{status}'")))?,
            status_message: r.get(13)?,
            tags: Vec::new(),
            aliases: Vec::new(),
            model_id: r.get(14)?,
        },
    ))
}

fn model_key(conn: &Connection, ws: &str, name: &str) -> Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT model_key FROM registered_models WHERE workspace = ?1 AND name = ?2",
    )
    .and_then(|mut s| s.query_row([ws, name], |r| r.get(0)).optional())
    .map_err(db_err)
}

/// The model's key; fails with RESOURCE_DOES_NOT_EXIST when there is no such model.
fn require_model(conn: &Connection, ws: &str, name: &str) -> Result<i64> {
    model_key(conn, ws, name)?.ok_or_else(|| registered_model_not_found(name))
}

/// The key of the version's model; fails with RESOURCE_DOES_NOT_EXIST unless both exist.
fn require_version(conn: &Connection, ws: &str, name: &str, version: i64) -> Result<i64> {
    let key: Option<i64> = conn
        .prepare_cached(
            "SELECT mv.model_key FROM model_versions mv \
             JOIN registered_models rm ON rm.model_key = mv.model_key \
             WHERE rm.workspace = ?1 AND rm.name = ?2 AND mv.version = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ws, name, version], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    key.ok_or_else(|| model_version_not_found(name, version))
}

fn touch_model(conn: &Connection, key: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE registered_models SET last_updated_time = ?1 WHERE model_key = ?2")
        .and_then(|mut s| s.execute(params![now, key]))
        .map_err(db_err)?;
    Ok(())
}

fn upsert_model_tag(conn: &Connection, key: i64, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO registered_model_tags (model_key, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (model_key, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![key, tag.key, tag.value]))
    .map_err(db_err)?;
    Ok(())
}

fn upsert_version_tag(conn: &Connection, key: i64, version: i64, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO model_version_tags (model_key, version, key, value) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (model_key, version, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![key, version, tag.key, tag.value]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn insert_model(conn: &Connection, m: &RegisteredModel) -> Result<()> {
    if model_key(conn, &m.workspace, &m.name)?.is_some() {
        return Err(registered_model_exists(&m.name));
    }
    let key: i64 = conn
        .prepare_cached(
            "INSERT INTO registered_models (workspace, name, creation_time, last_updated_time, \
             description) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING model_key",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    m.workspace,
                    m.name,
                    m.creation_timestamp,
                    m.last_updated_timestamp,
                    m.description
                ],
                |r| r.get(0),
            )
        })
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                keel_core::workspaces::not_found(&m.workspace)
            } else {
                db_err(e)
            }
        })?;
    m.tags
        .iter()
        .try_for_each(|t| upsert_model_tag(conn, key, t))
}

pub(crate) fn rename_model(
    conn: &Connection,
    ws: &str,
    name: &str,
    new_name: &str,
    now: i64,
) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    if name != new_name && model_key(conn, ws, new_name)?.is_some() {
        return Err(registered_model_exists(new_name));
    }
    conn.prepare_cached(
        "UPDATE registered_models SET name = ?1, last_updated_time = ?2 WHERE model_key = ?3",
    )
    .and_then(|mut s| s.execute(params![new_name, now, key]))
    .map_err(db_err)?;
    conn.prepare_cached("UPDATE model_versions SET last_updated_time = ?1 WHERE model_key = ?2")
        .and_then(|mut s| s.execute(params![now, key]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn update_model(
    conn: &Connection,
    ws: &str,
    name: &str,
    description: Option<&str>,
    now: i64,
) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    conn.prepare_cached(
        "UPDATE registered_models SET description = ?1, last_updated_time = ?2 \
         WHERE model_key = ?3",
    )
    .and_then(|mut s| s.execute(params![description, now, key]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn delete_model(conn: &Connection, ws: &str, name: &str) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    conn.prepare_cached("DELETE FROM registered_models WHERE model_key = ?1")
        .and_then(|mut s| s.execute([key]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn set_model_tag(conn: &Connection, ws: &str, name: &str, tag: &Tag) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    upsert_model_tag(conn, key, tag)
}

pub(crate) fn delete_model_tag(
    conn: &Connection,
    ws: &str,
    name: &str,
    tag_key: &str,
) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    conn.prepare_cached("DELETE FROM registered_model_tags WHERE model_key = ?1 AND key = ?2")
        .and_then(|mut s| s.execute(params![key, tag_key]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn set_alias(
    conn: &Connection,
    ws: &str,
    name: &str,
    alias: &str,
    version: i64,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    conn.prepare_cached(
        "INSERT INTO registered_model_aliases (model_key, alias, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
    )
    .and_then(|mut s| s.execute(params![key, alias, version]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn delete_alias(conn: &Connection, ws: &str, name: &str, alias: &str) -> Result<()> {
    let key = require_model(conn, ws, name)?;
    conn.prepare_cached("DELETE FROM registered_model_aliases WHERE model_key = ?1 AND alias = ?2")
        .and_then(|mut s| s.execute(params![key, alias]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn alias_version(
    conn: &Connection,
    ws: &str,
    name: &str,
    alias: &str,
) -> Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT a.version FROM registered_model_aliases a \
         JOIN registered_models rm ON rm.model_key = a.model_key \
         WHERE rm.workspace = ?1 AND rm.name = ?2 AND a.alias = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![ws, name, alias], |r| r.get(0))
            .optional()
    })
    .map_err(db_err)
}

/// Allocates the next number (the writer runs one job at a time, so reading `last_version`
/// and writing it back cannot interleave with another creation) and inserts the version.
pub(crate) fn insert_version(conn: &Connection, v: &NewModelVersion) -> Result<i64> {
    let (key, last): (i64, i64) = conn
        .prepare_cached(
            "SELECT model_key, last_version FROM registered_models \
             WHERE workspace = ?1 AND name = ?2",
        )
        .and_then(|mut s| {
            s.query_row([&v.workspace, &v.name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err)?
        .ok_or_else(|| registered_model_not_found(&v.name))?;
    let version = last + 1;
    // The link's new tag value is computed (and may fail) before anything is written.
    let link_value = match &v.link {
        Some(link) => {
            let exists: Option<i64> = conn
                .prepare_cached("SELECT 1 FROM logged_models WHERE model_id = ?1")
                .and_then(|mut s| s.query_row([&link.model_id], |r| r.get(0)).optional())
                .map_err(db_err)?;
            match exists {
                Some(_) => {
                    let current: Option<String> = conn
                        .prepare_cached(
                            "SELECT value FROM logged_model_tags WHERE model_id = ?1 AND key = ?2",
                        )
                        .and_then(|mut s| {
                            s.query_row(params![link.model_id, link.tag_key], |r| r.get(0))
                                .optional()
                        })
                        .map_err(db_err)?;
                    Some((link, (link.update)(current.as_deref(), version)?))
                }
                None => None,
            }
        }
        None => None,
    };
    conn.prepare_cached(
        "UPDATE registered_models SET last_version = ?1, last_updated_time = ?2 \
         WHERE model_key = ?3",
    )
    .and_then(|mut s| s.execute(params![version, v.creation_timestamp, key]))
    .map_err(db_err)?;
    conn.prepare_cached(
        "INSERT INTO model_versions (model_key, version, creation_time, last_updated_time, \
         description, user_id, current_stage, source, storage_location, run_id, run_link, \
         status, status_message, model_id) \
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            key,
            version,
            v.creation_timestamp,
            v.description,
            v.user_id,
            Stage::None.as_str(),
            v.source,
            v.storage_location,
            v.run_id.as_deref().unwrap_or(""),
            v.run_link,
            v.status.as_str(),
            v.status_message,
            v.model_id,
        ])
    })
    .map_err(db_err)?;
    for t in &v.tags {
        upsert_version_tag(conn, key, version, t)?;
    }
    if let Some((link, value)) = link_value {
        conn.prepare_cached(
            "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        )
        .and_then(|mut s| s.execute(params![link.model_id, link.tag_key, value]))
        .map_err(db_err)?;
    }
    Ok(version)
}

pub(crate) fn update_version(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
    description: Option<&str>,
    now: i64,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    conn.prepare_cached(
        "UPDATE model_versions SET description = ?1, last_updated_time = ?2 \
         WHERE model_key = ?3 AND version = ?4",
    )
    .and_then(|mut s| s.execute(params![description, now, key, version]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn transition_version(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
    stage: Stage,
    archive_existing: bool,
    now: i64,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    if archive_existing {
        conn.prepare_cached(
            "UPDATE model_versions SET current_stage = ?1, last_updated_time = ?2 \
             WHERE model_key = ?3 AND version != ?4 AND current_stage = ?5",
        )
        .and_then(|mut s| {
            s.execute(params![
                Stage::Archived.as_str(),
                now,
                key,
                version,
                stage.as_str()
            ])
        })
        .map_err(db_err)?;
    }
    conn.prepare_cached(
        "UPDATE model_versions SET current_stage = ?1, last_updated_time = ?2 \
         WHERE model_key = ?3 AND version = ?4",
    )
    .and_then(|mut s| s.execute(params![stage.as_str(), now, key, version]))
    .map_err(db_err)?;
    touch_model(conn, key, now)
}

pub(crate) fn delete_version(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
    now: i64,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    conn.prepare_cached("DELETE FROM model_versions WHERE model_key = ?1 AND version = ?2")
        .and_then(|mut s| s.execute(params![key, version]))
        .map_err(db_err)?;
    touch_model(conn, key, now)
}

pub(crate) fn set_version_tag(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
    tag: &Tag,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    upsert_version_tag(conn, key, version, tag)
}

pub(crate) fn delete_version_tag(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
    tag_key: &str,
) -> Result<()> {
    let key = require_version(conn, ws, name, version)?;
    conn.prepare_cached(
        "DELETE FROM model_version_tags WHERE model_key = ?1 AND version = ?2 AND key = ?3",
    )
    .and_then(|mut s| s.execute(params![key, version, tag_key]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn get_model(
    conn: &Connection,
    ws: &str,
    name: &str,
) -> Result<Option<RegisteredModel>> {
    match model_key(conn, ws, name)? {
        Some(key) => Ok(load_models(conn, &[key])?.pop()),
        None => Ok(None),
    }
}

pub(crate) fn get_version(
    conn: &Connection,
    ws: &str,
    name: &str,
    version: i64,
) -> Result<Option<ModelVersion>> {
    match model_key(conn, ws, name)? {
        Some(key) => Ok(load_versions(conn, &[(key, version)], true)?.pop()),
        None => Ok(None),
    }
}

/// Models with these keys, in the given order, with tags, aliases and latest versions.
fn load_models(conn: &Connection, keys: &[i64]) -> Result<Vec<RegisteredModel>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = || int_array(keys.iter().copied());
    let mut by_key: HashMap<i64, RegisteredModel> = HashMap::with_capacity(keys.len());
    for_each_row(
        conn,
        "SELECT model_key, name, creation_time, last_updated_time, description, workspace \
         FROM registered_models WHERE model_key IN rarray(?1)",
        wanted(),
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                RegisteredModel {
                    workspace: r.get(5)?,
                    name: r.get(1)?,
                    creation_timestamp: r.get(2)?,
                    last_updated_timestamp: r.get(3)?,
                    description: r.get(4)?,
                    latest_versions: Vec::new(),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                },
            ))
        },
        |(key, m)| {
            by_key.insert(key, m);
        },
    )?;
    for_each_row(
        conn,
        "SELECT model_key, key, value FROM registered_model_tags WHERE model_key IN rarray(?1) \
         ORDER BY model_key, key",
        wanted(),
        |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)),
        |(key, k, value)| {
            if let Some(m) = by_key.get_mut(&key) {
                m.tags.push(Tag { key: k, value });
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT model_key, alias, version FROM registered_model_aliases \
         WHERE model_key IN rarray(?1) ORDER BY model_key, alias",
        wanted(),
        |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)),
        |(key, alias, version)| {
            if let Some(m) = by_key.get_mut(&key) {
                m.aliases.push(RegisteredModelAlias { alias, version });
            }
        },
    )?;
    let mut latest: Vec<(i64, i64)> = Vec::new();
    for_each_row(
        conn,
        "SELECT model_key, MAX(version) FROM model_versions WHERE model_key IN rarray(?1) \
         GROUP BY model_key, current_stage",
        wanted(),
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        |pair| latest.push(pair),
    )?;
    latest.sort_unstable();
    let versions = load_versions(conn, &latest, false)?;
    for (key, v) in latest.iter().map(|(k, _)| *k).zip(versions) {
        if let Some(m) = by_key.get_mut(&key) {
            m.latest_versions.push(v);
        }
    }
    Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
}

/// Versions with these `(model_key, version)` pairs, in the given order (missing ones left
/// out), with tags and, when `with_aliases`, aliases.
fn load_versions(
    conn: &Connection,
    pairs: &[(i64, i64)],
    with_aliases: bool,
) -> Result<Vec<ModelVersion>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = || int_array(pairs.iter().map(|(k, v)| k * PAIR_SHIFT + v));
    let mut by_pair: HashMap<(i64, i64), ModelVersion> = HashMap::with_capacity(pairs.len());
    for_each_row(
        conn,
        &format!(
            "SELECT {VERSION_COLUMNS} FROM rarray(?1) w \
             JOIN model_versions mv ON mv.model_key = w.value / {PAIR_SHIFT} \
             AND mv.version = w.value % {PAIR_SHIFT} \
             JOIN registered_models rm ON rm.model_key = mv.model_key"
        ),
        wanted(),
        version_from_row,
        |(key, v)| {
            by_pair.insert((key, v.version), v);
        },
    )?;
    for_each_row(
        conn,
        &format!(
            "SELECT t.model_key, t.version, t.key, t.value FROM rarray(?1) w \
             JOIN model_version_tags t ON t.model_key = w.value / {PAIR_SHIFT} \
             AND t.version = w.value % {PAIR_SHIFT} ORDER BY t.model_key, t.version, t.key"
        ),
        wanted(),
        |r| {
            Ok((
                (r.get::<_, i64>(0)?, r.get::<_, i64>(1)?),
                r.get(2)?,
                r.get(3)?,
            ))
        },
        |(pair, key, value)| {
            if let Some(v) = by_pair.get_mut(&pair) {
                v.tags.push(Tag { key, value });
            }
        },
    )?;
    if with_aliases {
        for_each_row(
            conn,
            &format!(
                "SELECT a.model_key, a.version, a.alias FROM rarray(?1) w \
                 JOIN registered_model_aliases a ON a.model_key = w.value / {PAIR_SHIFT} \
                 AND a.version = w.value % {PAIR_SHIFT} ORDER BY a.model_key, a.alias"
            ),
            wanted(),
            |r| Ok(((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?), r.get(2)?)),
            |(pair, alias)| {
                if let Some(v) = by_pair.get_mut(&pair) {
                    v.aliases.push(alias);
                }
            },
        )?;
    }
    Ok(pairs.iter().filter_map(|p| by_pair.remove(p)).collect())
}

pub(crate) fn search_models(
    conn: &Connection,
    q: &RegisteredModelQuery,
) -> Result<Vec<RegisteredModel>> {
    let compiled = search_sql::registered_model_search_sql(Dialect::Sqlite, q);
    let keys: Vec<i64> = super::search::ids(conn, compiled)?;
    load_models(conn, &keys)
}

pub(crate) fn search_versions(
    conn: &Connection,
    q: &ModelVersionQuery,
) -> Result<Vec<ModelVersion>> {
    let compiled = search_sql::model_version_search_sql(Dialect::Sqlite, q);
    let mut stmt = conn.prepare_cached(&compiled.sql).map_err(db_err)?;
    let pairs = stmt
        .query_map(rusqlite::params_from_iter(compiled.params.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    load_versions(conn, &pairs, false)
}

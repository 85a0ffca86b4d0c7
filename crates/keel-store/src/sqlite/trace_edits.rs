//! SQL for what is written to a stored trace after it exists, on SQLite: tags, deletion, links to
//! runs and prompts, and assessments.
//!
//! Write functions run on the writer connection and do every check that can reject the request
//! before their first write (see `writer.rs`).

use keel_core::traces::{Assessment, TraceDeletion, TraceId, trace_not_found};
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::{experiment_id_to_i64, text_array};
use super::traces::trace_key;
use super::{db_err, is_unique_violation};
use crate::assessment_rows::{ASSESSMENT_COLUMNS, AssessmentRow, StoredAssessment};

/// The trace's key, or a not-found error.
pub(crate) fn require_trace(conn: &Connection, trace_id: &TraceId) -> Result<i64> {
    trace_key(conn, trace_id)?.ok_or_else(|| trace_not_found(trace_id.as_str()))
}

pub(crate) fn set_tag(conn: &Connection, trace_id: &TraceId, key: &str, value: &str) -> Result<()> {
    let trace_key = require_trace(conn, trace_id)?;
    conn.prepare_cached(
        "INSERT INTO trace_tags (trace_key, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (trace_key, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![trace_key, key, value]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn delete_tag(conn: &Connection, trace_id: &TraceId, key: &str) -> Result<()> {
    let trace_key = require_trace(conn, trace_id)?;
    let deleted = conn
        .prepare_cached("DELETE FROM trace_tags WHERE trace_key = ?1 AND key = ?2")
        .and_then(|mut s| s.execute(params![trace_key, key]))
        .map_err(db_err)?;
    if deleted == 0 {
        return Err(Error::not_found(format!(
            "No trace tag with key '{key}' for trace with ID '{}'",
            trace_id.as_str()
        )));
    }
    Ok(())
}

pub(crate) fn delete_traces(
    conn: &Connection,
    experiment_id: &str,
    which: &TraceDeletion,
) -> Result<u64> {
    let experiment = experiment_id_to_i64(experiment_id)?;
    let ids: Vec<String> = which
        .trace_ids
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect();
    let limit = which
        .max_traces
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let deleted = conn
        .prepare_cached(
            "DELETE FROM traces WHERE trace_key IN (SELECT trace_key FROM traces \
             WHERE experiment_id = ?1 \
               AND (?2 IS NULL OR request_time <= ?2) \
               AND (?3 = 0 OR trace_id IN rarray(?4)) \
             ORDER BY request_time, trace_id LIMIT ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                experiment,
                which.max_timestamp_ms,
                i64::from(!ids.is_empty()),
                text_array(ids.iter().map(String::as_str)),
                limit
            ])
        })
        .map_err(db_err)?;
    Ok(deleted as u64)
}

/// Links the traces to the run; a trace that does not exist yet gets a pending link, which
/// [`adopt_pending_links`] applies when it is created.
pub(crate) fn link_to_run(conn: &Connection, trace_ids: &[TraceId], run_id: &str) -> Result<()> {
    let mut link = conn
        .prepare_cached(
            "INSERT INTO trace_run_links (trace_key, run_uuid) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
        )
        .map_err(db_err)?;
    // Through `runs`: a run deleted since the request checked it leaves nothing behind.
    let mut pend = conn
        .prepare_cached(
            "INSERT INTO pending_trace_run_links (trace_id, run_uuid) \
             SELECT ?1, run_uuid FROM runs WHERE run_uuid = ?2 ON CONFLICT DO NOTHING",
        )
        .map_err(db_err)?;
    for id in trace_ids {
        match trace_key(conn, id)? {
            Some(key) => link.execute(params![key, run_id]),
            None => pend.execute(params![id.as_str(), run_id]),
        }
        .map_err(db_err)?;
    }
    Ok(())
}

/// Moves the pending links of a trace just created (`key`, in `experiment_id`) into its links:
/// those to runs of the same experiment; the others are dropped.
pub(crate) fn adopt_pending_links(
    conn: &Connection,
    key: i64,
    trace_id: &TraceId,
    experiment_id: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO trace_run_links (trace_key, run_uuid) \
         SELECT ?1, p.run_uuid FROM pending_trace_run_links p \
         JOIN runs r ON r.run_uuid = p.run_uuid \
         WHERE p.trace_id = ?2 AND r.experiment_id = ?3 ON CONFLICT DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![key, trace_id.as_str(), experiment_id]))
    .map_err(db_err)?;
    conn.prepare_cached("DELETE FROM pending_trace_run_links WHERE trace_id = ?1")
        .and_then(|mut s| s.execute([trace_id.as_str()]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn link_prompts(
    conn: &Connection,
    trace_id: &TraceId,
    prompts: &[(String, String)],
) -> Result<()> {
    let key = require_trace(conn, trace_id)?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO trace_prompt_links (trace_key, prompt_name, prompt_version) \
             VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )
        .map_err(db_err)?;
    for (name, version) in prompts {
        stmt.execute(params![key, name, version]).map_err(db_err)?;
    }
    Ok(())
}

fn set_valid(conn: &Connection, trace_key: i64, assessment_id: &str, valid: bool) -> Result<usize> {
    conn.prepare_cached(
        "UPDATE assessments SET valid = ?3 WHERE trace_key = ?1 AND assessment_id = ?2",
    )
    .and_then(|mut s| s.execute(params![trace_key, assessment_id, valid]))
    .map_err(db_err)
}

fn assessment_exists(conn: &Connection, trace_key: i64, assessment_id: &str) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM assessments WHERE trace_key = ?1 AND assessment_id = ?2")
        .and_then(|mut s| s.exists(params![trace_key, assessment_id]))
        .map_err(db_err)
}

fn assessment_id_taken(assessment_id: &str) -> Error {
    Error::already_exists(format!(
        "Assessment with ID '{assessment_id}' already exists."
    ))
}

pub(crate) fn create_assessment(conn: &Connection, a: &Assessment) -> Result<()> {
    let trace_key = require_trace(conn, &a.trace_id)?;
    if let Some(overridden) = &a.overrides {
        if !assessment_exists(conn, trace_key, overridden)? {
            return Err(keel_core::traces::assessments::assessment_not_found(
                a.trace_id.as_str(),
                overridden,
            ));
        }
    }
    let r = AssessmentRow::from(a);
    conn.prepare_cached(
        "INSERT INTO assessments (assessment_id, trace_key, name, kind, value, numeric_value, \
         error, source_type, source_id, span_id, rationale, metadata, overrides, valid, \
         create_time, last_update_time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.assessment_id,
            trace_key,
            r.name,
            r.kind,
            r.value,
            r.numeric_value,
            r.error,
            r.source_type,
            r.source_id,
            r.span_id,
            r.rationale,
            r.metadata,
            r.overrides,
            r.valid,
            r.create_time,
            r.last_update_time
        ])
    })
    .map_err(|e| {
        // A taken ID fails the insert itself, which then changed nothing.
        if is_unique_violation(&e) {
            assessment_id_taken(&a.assessment_id)
        } else {
            db_err(e)
        }
    })?;
    if let Some(overridden) = &a.overrides {
        set_valid(conn, trace_key, overridden, false)?;
    }
    Ok(())
}

pub(crate) fn update_assessment(conn: &Connection, a: &Assessment) -> Result<()> {
    let trace_key = require_trace(conn, &a.trace_id)?;
    let r = AssessmentRow::from(a);
    let updated = conn
        .prepare_cached(
            "UPDATE assessments SET name = ?3, value = ?4, numeric_value = ?5, error = ?6, \
             rationale = ?7, metadata = ?8, last_update_time = ?9 \
             WHERE trace_key = ?1 AND assessment_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                trace_key,
                r.assessment_id,
                r.name,
                r.value,
                r.numeric_value,
                r.error,
                r.rationale,
                r.metadata,
                r.last_update_time
            ])
        })
        .map_err(db_err)?;
    if updated == 0 {
        return Err(keel_core::traces::assessments::assessment_not_found(
            a.trace_id.as_str(),
            &a.assessment_id,
        ));
    }
    Ok(())
}

pub(crate) fn delete_assessment(
    conn: &Connection,
    trace_id: &TraceId,
    assessment_id: &str,
) -> Result<bool> {
    let trace_key = require_trace(conn, trace_id)?;
    let overrides: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT overrides FROM assessments WHERE trace_key = ?1 AND assessment_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![trace_key, assessment_id], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    let Some(overrides) = overrides else {
        return Ok(false);
    };
    conn.prepare_cached("DELETE FROM assessments WHERE trace_key = ?1 AND assessment_id = ?2")
        .and_then(|mut s| s.execute(params![trace_key, assessment_id]))
        .map_err(db_err)?;
    if let Some(restored) = overrides {
        set_valid(conn, trace_key, &restored, true)?;
    }
    Ok(true)
}

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAssessment> {
    Ok(StoredAssessment {
        assessment_id: r.get(0)?,
        trace_id: r.get(1)?,
        name: r.get(2)?,
        kind: r.get(3)?,
        value: r.get(4)?,
        error: r.get(5)?,
        source_type: r.get(6)?,
        source_id: r.get(7)?,
        span_id: r.get(8)?,
        rationale: r.get(9)?,
        metadata: r.get(10)?,
        overrides: r.get(11)?,
        valid: r.get(12)?,
        create_time: r.get(13)?,
        last_update_time: r.get(14)?,
    })
}

pub(crate) fn get_assessment(
    conn: &Connection,
    trace_id: &TraceId,
    assessment_id: &str,
) -> Result<Option<Assessment>> {
    conn.prepare_cached(&format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM assessments a JOIN traces t USING (trace_key) \
         WHERE t.trace_id = ?1 AND a.assessment_id = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(params![trace_id.as_str(), assessment_id], stored)
            .optional()
    })
    .map_err(db_err)?
    .map(StoredAssessment::into_domain)
    .transpose()
}

pub(crate) fn list_assessments(
    conn: &Connection,
    trace_ids: &[TraceId],
) -> Result<Vec<Assessment>> {
    let ids: Vec<String> = trace_ids.iter().map(|id| id.as_str().to_owned()).collect();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ASSESSMENT_COLUMNS} FROM assessments a JOIN traces t USING (trace_key) \
             WHERE t.trace_id IN rarray(?1) ORDER BY a.trace_key, a.create_time, a.assessment_id"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map([text_array(ids.iter().map(String::as_str))], stored)
        .map_err(db_err)?;
    rows.map(|r| r.map_err(db_err).and_then(StoredAssessment::into_domain))
        .collect()
}

pub(crate) fn traces_before(
    conn: &Connection,
    cutoff_ms: i64,
    limit: u64,
) -> Result<Vec<(TraceId, Option<String>)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT t.trace_id, g.value FROM traces t LEFT JOIN trace_tags g \
             ON g.trace_key = t.trace_key AND g.key = 'mlflow.artifactLocation' \
             WHERE t.request_time < ?1 ORDER BY t.request_time, t.trace_id LIMIT ?2",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![cutoff_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, location) = row.map_err(db_err)?;
        let id =
            TraceId::parse(&id).map_err(|_| Error::internal("stored trace has an invalid ID"))?;
        out.push((id, location));
    }
    Ok(out)
}

pub(crate) fn purge_traces(conn: &Connection, trace_ids: &[TraceId]) -> Result<u64> {
    let ids: Vec<String> = trace_ids.iter().map(|id| id.as_str().to_owned()).collect();
    let n = conn
        .prepare_cached("DELETE FROM traces WHERE trace_id IN rarray(?1)")
        .and_then(|mut s| s.execute([text_array(ids.iter().map(String::as_str))]))
        .map_err(db_err)?;
    Ok(n as u64)
}

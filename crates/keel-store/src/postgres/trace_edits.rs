//! SQL for what is written to a stored trace after it exists, on PostgreSQL: tags, deletion,
//! links to runs and prompts, and assessments. The trace's row is locked first (`FOR UPDATE`),
//! as span batches lock it, so writes to one trace apply one after another.

use keel_core::Error;
use keel_core::traces::assessments::assessment_not_found;
use keel_core::traces::{Assessment, TraceDeletion, TraceId, trace_not_found};
use sqlx::PgConnection;

use super::convert::experiment_id_to_i64;
use super::error::PgResult;
use crate::assessment_rows::{ASSESSMENT_COLUMNS, AssessmentRow, StoredAssessment};

type AssessmentColumns = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    bool,
    i64,
    i64,
);

fn stored(c: AssessmentColumns) -> StoredAssessment {
    StoredAssessment {
        assessment_id: c.0,
        trace_id: c.1,
        name: c.2,
        kind: c.3,
        value: c.4,
        error: c.5,
        source_type: c.6,
        source_id: c.7,
        span_id: c.8,
        rationale: c.9,
        metadata: c.10,
        overrides: c.11,
        valid: c.12,
        create_time: c.13,
        last_update_time: c.14,
    }
}

/// Locks the trace's row; returns its key, or a not-found error.
pub(crate) async fn lock_trace(conn: &mut PgConnection, trace_id: &TraceId) -> PgResult<i64> {
    let key: Option<i64> =
        sqlx::query_scalar("SELECT trace_key FROM traces WHERE trace_id = $1 FOR UPDATE")
            .bind(trace_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    key.ok_or_else(|| trace_not_found(trace_id.as_str()).into())
}

pub(crate) async fn set_tag(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    key: &str,
    value: &str,
) -> PgResult<()> {
    let trace_key = lock_trace(conn, trace_id).await?;
    sqlx::query(
        "INSERT INTO trace_tags (trace_key, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (trace_key, key) DO UPDATE SET value = excluded.value",
    )
    .bind(trace_key)
    .bind(key)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_tag(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    key: &str,
) -> PgResult<()> {
    let trace_key = lock_trace(conn, trace_id).await?;
    let deleted = sqlx::query("DELETE FROM trace_tags WHERE trace_key = $1 AND key = $2")
        .bind(trace_key)
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::not_found(format!(
            "No trace tag with key '{key}' for trace with ID '{}'",
            trace_id.as_str()
        ))
        .into());
    }
    Ok(())
}

pub(crate) async fn delete_traces(
    conn: &mut PgConnection,
    experiment_id: &str,
    which: &TraceDeletion,
) -> PgResult<u64> {
    let experiment = experiment_id_to_i64(experiment_id)?;
    let ids: Vec<String> = which
        .trace_ids
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect();
    let limit = which
        .max_traces
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let deleted = sqlx::query(
        "DELETE FROM traces WHERE trace_key IN (SELECT trace_key FROM traces \
         WHERE experiment_id = $1 \
           AND ($2::bigint IS NULL OR request_time <= $2) \
           AND (cardinality($3::text[]) = 0 OR trace_id = ANY($3)) \
         ORDER BY request_time, trace_id LIMIT $4 FOR UPDATE)",
    )
    .bind(experiment)
    .bind(which.max_timestamp_ms)
    .bind(&ids)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(deleted)
}

/// Links the traces to the run; a trace that does not exist yet gets a pending link, which
/// [`adopt_pending_links`] applies when it is created. IDs are locked in order, so two links
/// never deadlock.
pub(crate) async fn link_to_run(
    conn: &mut PgConnection,
    trace_ids: &[TraceId],
    run_id: &str,
) -> PgResult<()> {
    let mut ordered = trace_ids.to_vec();
    ordered.sort();
    ordered.dedup();
    for id in &ordered {
        lock_trace_id(conn, id).await?;
        let key: Option<i64> =
            sqlx::query_scalar("SELECT trace_key FROM traces WHERE trace_id = $1 FOR UPDATE")
                .bind(id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        match key {
            Some(key) => sqlx::query(
                "INSERT INTO trace_run_links (trace_key, run_uuid) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(key),
            // Through `runs`: a run deleted since the request checked it leaves nothing.
            None => sqlx::query(
                "INSERT INTO pending_trace_run_links (trace_id, run_uuid) \
                 SELECT $1, run_uuid FROM runs WHERE run_uuid = $2 ON CONFLICT DO NOTHING",
            )
            .bind(id.as_str()),
        }
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The lock a link and the creation of the trace it names both take (until their transaction
/// ends), so that a link never lands as pending after the trace was created without it. Keyed
/// in a namespace of its own ("ktrl") so it meets no other advisory lock.
async fn lock_trace_id(conn: &mut PgConnection, trace_id: &TraceId) -> PgResult<()> {
    const NAMESPACE: i32 = i32::from_be_bytes(*b"ktrl");
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(NAMESPACE)
        .bind(trace_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves the pending links of a trace just created (`key`, in `experiment_id`) into its links:
/// those to runs of the same experiment; the others are dropped.
pub(crate) async fn adopt_pending_links(
    conn: &mut PgConnection,
    key: i64,
    trace_id: &TraceId,
    experiment_id: i64,
) -> PgResult<()> {
    // Locked after the trace row is inserted: a link that waited for the lock then finds it.
    lock_trace_id(conn, trace_id).await?;
    sqlx::query(
        "WITH moved AS (DELETE FROM pending_trace_run_links WHERE trace_id = $2 \
         RETURNING run_uuid) \
         INSERT INTO trace_run_links (trace_key, run_uuid) \
         SELECT $1, m.run_uuid FROM moved m JOIN runs r ON r.run_uuid = m.run_uuid \
         WHERE r.experiment_id = $3 ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(trace_id.as_str())
    .bind(experiment_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn link_prompts(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    prompts: &[(String, String)],
) -> PgResult<()> {
    let key = lock_trace(conn, trace_id).await?;
    let (names, versions): (Vec<&str>, Vec<&str>) = prompts
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .unzip();
    sqlx::query(
        "INSERT INTO trace_prompt_links (trace_key, prompt_name, prompt_version) \
         SELECT $1, n, v FROM UNNEST($2::text[], $3::text[]) AS p (n, v) ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(names)
    .bind(versions)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_valid(
    conn: &mut PgConnection,
    trace_key: i64,
    assessment_id: &str,
    valid: bool,
) -> PgResult<u64> {
    Ok(
        sqlx::query(
            "UPDATE assessments SET valid = $3 WHERE trace_key = $1 AND assessment_id = $2",
        )
        .bind(trace_key)
        .bind(assessment_id)
        .bind(valid)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
    )
}

pub(crate) async fn create_assessment(conn: &mut PgConnection, a: &Assessment) -> PgResult<()> {
    let trace_key = lock_trace(conn, &a.trace_id).await?;
    let r = AssessmentRow::from(a);
    let inserted = sqlx::query(
        "INSERT INTO assessments (assessment_id, trace_key, name, kind, value, numeric_value, \
         error, source_type, source_id, span_id, rationale, metadata, overrides, valid, \
         create_time, last_update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (assessment_id) DO NOTHING",
    )
    .bind(r.assessment_id)
    .bind(trace_key)
    .bind(r.name)
    .bind(r.kind)
    .bind(&r.value)
    .bind(r.numeric_value)
    .bind(&r.error)
    .bind(r.source_type)
    .bind(r.source_id)
    .bind(r.span_id)
    .bind(r.rationale)
    .bind(&r.metadata)
    .bind(r.overrides)
    .bind(r.valid)
    .bind(r.create_time)
    .bind(r.last_update_time)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::already_exists(format!(
            "Assessment with ID '{}' already exists.",
            a.assessment_id
        ))
        .into());
    }
    if let Some(overridden) = &a.overrides {
        if set_valid(conn, trace_key, overridden, false).await? == 0 {
            return Err(assessment_not_found(a.trace_id.as_str(), overridden).into());
        }
    }
    Ok(())
}

pub(crate) async fn update_assessment(conn: &mut PgConnection, a: &Assessment) -> PgResult<()> {
    let trace_key = lock_trace(conn, &a.trace_id).await?;
    let r = AssessmentRow::from(a);
    let updated = sqlx::query(
        "UPDATE assessments SET name = $3, value = $4, numeric_value = $5, error = $6, \
         rationale = $7, metadata = $8, last_update_time = $9 \
         WHERE trace_key = $1 AND assessment_id = $2",
    )
    .bind(trace_key)
    .bind(r.assessment_id)
    .bind(r.name)
    .bind(&r.value)
    .bind(r.numeric_value)
    .bind(&r.error)
    .bind(r.rationale)
    .bind(&r.metadata)
    .bind(r.last_update_time)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(assessment_not_found(a.trace_id.as_str(), &a.assessment_id).into());
    }
    Ok(())
}

pub(crate) async fn delete_assessment(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    assessment_id: &str,
) -> PgResult<bool> {
    let trace_key = lock_trace(conn, trace_id).await?;
    let deleted: Option<Option<String>> = sqlx::query_scalar(
        "DELETE FROM assessments WHERE trace_key = $1 AND assessment_id = $2 RETURNING overrides",
    )
    .bind(trace_key)
    .bind(assessment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(overrides) = deleted else {
        return Ok(false);
    };
    if let Some(restored) = overrides {
        set_valid(conn, trace_key, &restored, true).await?;
    }
    Ok(true)
}

pub(crate) async fn get_assessment(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    assessment_id: &str,
) -> PgResult<Option<Assessment>> {
    let row: Option<AssessmentColumns> = sqlx::query_as(&format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM assessments a JOIN traces t USING (trace_key) \
         WHERE t.trace_id = $1 AND a.assessment_id = $2"
    ))
    .bind(trace_id.as_str())
    .bind(assessment_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| stored(r).into_domain()).transpose()?)
}

pub(crate) async fn list_assessments(
    conn: &mut PgConnection,
    trace_ids: &[TraceId],
) -> PgResult<Vec<Assessment>> {
    let ids: Vec<String> = trace_ids.iter().map(|id| id.as_str().to_owned()).collect();
    let rows: Vec<AssessmentColumns> = sqlx::query_as(&format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM assessments a JOIN traces t USING (trace_key) \
         WHERE t.trace_id = ANY($1) ORDER BY a.trace_key, a.create_time, a.assessment_id"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(stored(r).into_domain()?);
    }
    Ok(out)
}

pub(crate) async fn traces_before(
    conn: &mut PgConnection,
    cutoff_ms: i64,
    limit: u64,
) -> PgResult<Vec<(TraceId, Option<String>)>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT t.trace_id, g.value FROM traces t LEFT JOIN trace_tags g \
         ON g.trace_key = t.trace_key AND g.key = 'mlflow.artifactLocation' \
         WHERE t.request_time < $1 ORDER BY t.request_time, t.trace_id LIMIT $2",
    )
    .bind(cutoff_ms)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, location) in rows {
        let id =
            TraceId::parse(&id).map_err(|_| Error::internal("stored trace has an invalid ID"))?;
        out.push((id, location));
    }
    Ok(out)
}

pub(crate) async fn purge_traces(conn: &mut PgConnection, trace_ids: &[TraceId]) -> PgResult<u64> {
    let mut ids: Vec<String> = trace_ids.iter().map(|id| id.as_str().to_owned()).collect();
    // Locked in ID order, as every writer of several traces locks them.
    ids.sort();
    Ok(sqlx::query(
        "DELETE FROM traces WHERE trace_key IN (SELECT trace_key FROM traces \
         WHERE trace_id = ANY($1) ORDER BY trace_id FOR UPDATE)",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

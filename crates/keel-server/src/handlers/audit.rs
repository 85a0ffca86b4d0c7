//! The audit log API (`/api/3.0/keel/audit/...`): the latest signed checkpoint and the log's
//! verifier key (plain text, as transparency-log tooling reads them), inclusion and
//! consistency proofs, entries in leaf order, and searches.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keel_core::audit::{AuditLog, AuditQuery, Outcome};
use keel_core::{Error, ErrorCode, paging};

use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::audit::{
    CheckpointsIn, CheckpointsOut, ConsistencyIn, ConsistencyOut, EntriesIn, EntriesOut, EntryOut,
    InclusionIn, InclusionOut, SearchIn, SearchOut, hashes,
};

/// Default page size of entries and searches.
const DEFAULT_PAGE: i64 = 100;

fn log(s: &AppState) -> ApiResult<&AuditLog> {
    s.audit.as_ref().map(|t| &t.log).ok_or_else(|| {
        Error::new(
            ErrorCode::FeatureDisabled,
            "The audit log is turned off on this server (audit_log = false).",
        )
        .into()
    })
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn non_negative(name: &str, v: Option<i64>) -> ApiResult<Option<u64>> {
    v.map(|v| {
        u64::try_from(v).map_err(|_| {
            Error::invalid(format!(
                "Invalid value {v} for parameter '{name}' supplied: it must not be negative."
            ))
            .into()
        })
    })
    .transpose()
}

fn page_size(v: Option<i64>) -> ApiResult<usize> {
    match v.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=1000 => Ok(usize::try_from(n).unwrap_or(1000)),
        n => Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied: it must be between 1 and 1000."
        ))
        .into()),
    }
}

/// The latest checkpoint's size; one is signed now if none exists yet.
async fn latest_size(log: &AuditLog) -> ApiResult<u64> {
    Ok(match log.latest_checkpoint().await? {
        Some(c) => c.tree_size,
        None => log.checkpoint_now().await?.tree_size,
    })
}

/// `GET audit/checkpoint`: the latest signed checkpoint (a C2SP signed note).
pub async fn checkpoint(State(s): State<AppState>) -> ApiResult<Response> {
    let log = log(&s)?;
    let latest = match log.latest_checkpoint().await? {
        Some(c) => c,
        None => log.checkpoint_now().await?,
    };
    Ok(text(latest.note))
}

/// `GET audit/key`: the log's note verifier key (C2SP `vkey`).
pub async fn key(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(text(format!("{}\n", log(&s)?.verifier_key())))
}

/// `GET audit/checkpoints`: signed checkpoints, smallest first.
pub async fn checkpoints(
    State(s): State<AppState>,
    req: MlflowRequest<CheckpointsIn>,
) -> ApiResult<Json<CheckpointsOut>> {
    let m = req.message;
    let from = non_negative("from_size", m.from_size)?.unwrap_or(0);
    let found = log(&s)?
        .checkpoints(from, page_size(m.max_results)?)
        .await?;
    Ok(Json(CheckpointsOut {
        checkpoints: found.into_iter().map(Into::into).collect(),
    }))
}

/// `GET audit/proofs/inclusion`.
pub async fn inclusion(
    State(s): State<AppState>,
    req: MlflowRequest<InclusionIn>,
) -> ApiResult<Json<InclusionOut>> {
    let log = log(&s)?;
    let m = req.message;
    let leaf_index = non_negative("leaf_index", m.leaf_index)?
        .ok_or_else(|| Error::missing_parameter("leaf_index"))?;
    let tree_size = match non_negative("tree_size", m.tree_size)? {
        Some(size) => size,
        None => latest_size(log).await?,
    };
    let proof = log.inclusion_proof(leaf_index, tree_size).await?;
    Ok(Json(InclusionOut {
        leaf_index,
        tree_size,
        hashes: hashes(&proof),
    }))
}

/// `GET audit/proofs/consistency`.
pub async fn consistency(
    State(s): State<AppState>,
    req: MlflowRequest<ConsistencyIn>,
) -> ApiResult<Json<ConsistencyOut>> {
    let log = log(&s)?;
    let m = req.message;
    let first = non_negative("first", m.first)?.ok_or_else(|| Error::missing_parameter("first"))?;
    let second = match non_negative("second", m.second)? {
        Some(size) => size,
        None => latest_size(log).await?,
    };
    let proof = log.consistency_proof(first, second).await?;
    Ok(Json(ConsistencyOut {
        first,
        second,
        hashes: hashes(&proof),
    }))
}

/// `GET audit/entries`: sequenced entries in leaf order.
pub async fn entries(
    State(s): State<AppState>,
    req: MlflowRequest<EntriesIn>,
) -> ApiResult<Json<EntriesOut>> {
    let m = req.message;
    let start = non_negative("start", m.start)?.unwrap_or(0);
    let limit = page_size(m.max_results)?;
    let found = log(&s)?.entries(start, limit).await?;
    let next_start = (found.len() == limit)
        .then(|| found.last().and_then(|e| e.leaf_index).map(|i| i + 1))
        .flatten();
    Ok(Json(EntriesOut {
        entries: found.into_iter().map(EntryOut::from).collect(),
        next_start,
    }))
}

/// `GET audit/search`: entries matching every given criterion, newest first.
pub async fn search(
    State(s): State<AppState>,
    req: MlflowRequest<SearchIn>,
) -> ApiResult<Json<SearchOut>> {
    let m = req.message;
    let before_seq = match m.page_token.as_deref() {
        None | Some("") => None,
        token => Some(paging::decode(token)?),
    };
    let blank = |v: Option<String>| v.filter(|v| !v.is_empty());
    let query = AuditQuery {
        actor: blank(m.actor),
        action: blank(m.action),
        resource_kind: blank(m.resource_kind),
        resource_id: blank(m.resource_id),
        outcome: blank(m.outcome).map(|o| Outcome::parse(&o)).transpose()?,
        since_ms: m.since,
        until_ms: m.until,
        before_seq,
        max_results: page_size(m.max_results)?,
    };
    let page = log(&s)?.search(&query).await?;
    Ok(Json(SearchOut {
        entries: page.items.into_iter().map(EntryOut::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

//! Handlers of the artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`) and of a run's
//! artifact listing (`/api/2.0/mlflow/artifacts/list`). Bytes stream in both directions.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use keel_artifacts::{ArtifactPath, ByteStream, proxied_path};
use keel_core::Error;
use serde::{Deserialize, Serialize};

use super::{Empty, artifact_headers, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::requests::pick_run_id;

/// The artifact path from the URL (decoded once by the router), validated.
pub(crate) fn artifact_path(
    path: Result<Path<String>, PathRejection>,
) -> Result<ArtifactPath, Error> {
    let Path(raw) = path.map_err(|e| Error::invalid(format!("Invalid artifact path: {e}")))?;
    ArtifactPath::parse(&raw)
}

/// A request body as the byte stream stores read.
pub(crate) fn body_stream(body: Body) -> ByteStream {
    body.into_data_stream()
        .map_err(keel_artifacts::upload_interrupted)
        .inspect_ok(|chunk| keel_metrics::global().artifact_bytes_in(chunk.len() as u64))
        .boxed()
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ListIn {
    pub path: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FileOut {
    pub(crate) path: String,
    pub(crate) is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_size: Option<u64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ListOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileOut>,
}

/// Lists a directory of the proxied store; entries are named relative to it.
pub async fn list(
    State(s): State<AppState>,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<ListOut>> {
    let path = ArtifactPath::parse(req.message.path.as_deref().unwrap_or(""))?;
    let files = s.artifacts.list(&path).await?;
    Ok(Json(ListOut {
        files: files
            .into_iter()
            .map(|f| FileOut {
                path: f.name,
                is_dir: f.is_dir,
                file_size: f.size,
            })
            .collect(),
    }))
}

/// Streams an artifact, honouring a single `Range: bytes=...` request.
pub async fn download(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve_file(&s, &artifact_path(path)?, &headers).await
}

/// Names a file or folder under a run's artifact root (`/get-artifact`, `artifacts/list`).
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct RunArtifactIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub path: Option<String>,
}

/// The run's artifact root URI, the store path of the requested entry, and that entry's path
/// relative to the run's root.
async fn run_artifact(
    s: &AppState,
    m: RunArtifactIn,
) -> Result<(String, ArtifactPath, ArtifactPath), Error> {
    let info = s
        .tracking
        .run_info(&pick_run_id(m.run_id, m.run_uuid)?)
        .await?;
    let relative = ArtifactPath::parse(m.path.as_deref().unwrap_or(""))?;
    let path = proxied_path(&info.artifact_uri)?.join(&relative);
    Ok((info.artifact_uri, path, relative))
}

/// `GET /get-artifact?run_uuid=&path=`: a file of a run's artifacts (used by the web UI).
pub async fn get_run_artifact(
    State(s): State<AppState>,
    headers: HeaderMap,
    req: MlflowRequest<RunArtifactIn>,
) -> ApiResult<Response> {
    let (_, path, _) = run_artifact(&s, req.message).await?;
    serve_file(&s, &path, &headers).await
}

/// Most bytes `upload-artifact` takes, as on the reference.
const MAX_UPLOAD_ARTIFACT_BYTES: usize = 10 * 1024 * 1024;

/// `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=`: the body (at most 10 MB) becomes
/// the file at `path` under the run's artifact root (the web UI uploads this way). The reply
/// is an empty body, as the reference's is.
pub async fn upload_run_artifact(
    State(s): State<AppState>,
    query: Result<Query<RunArtifactIn>, QueryRejection>,
    body: Body,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| Error::invalid(format!("Invalid query string: {e}")))?;
    // The reference names the run by `run_uuid` only here.
    let run_uuid = q
        .run_uuid
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::invalid("Request must specify run_uuid."))?;
    let relative = q
        .path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::invalid("Request must specify path."))?;
    // Read up to the cap, telling a body over it from one that broke off.
    let mut data = bytes::BytesMut::new();
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk
            .map_err(|e| Error::invalid(format!("The request body could not be read: {e}")))?;
        if data.len() + chunk.len() > MAX_UPLOAD_ARTIFACT_BYTES {
            return Err(Error::invalid("Artifact size is too large. Max size is 10MB.").into());
        }
        data.extend_from_slice(&chunk);
    }
    let data = data.freeze();
    if data.is_empty() {
        return Err(Error::invalid("Request must specify data.").into());
    }
    let (_, path, _) = run_artifact(
        &s,
        RunArtifactIn {
            run_id: None,
            run_uuid: Some(run_uuid),
            path: Some(relative),
        },
    )
    .await?;
    keel_metrics::global().artifact_bytes_in(data.len() as u64);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(data)]).boxed();
    s.artifacts.write(&path, body).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], "").into_response())
}

/// The response for one artifact file: whole, or the requested byte range.
pub(crate) async fn serve_file(
    s: &AppState,
    path: &ArtifactPath,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let (download, range) = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => (s.artifacts.open(path, None, None).await?, None),
        Some(spec) => {
            let meta = s.artifacts.head(path).await?;
            match byte_range(spec, meta.size) {
                RangeRequest::Satisfiable(start, end) => {
                    let download = s
                        .artifacts
                        .open(path, Some(start..end + 1), meta.version.as_deref())
                        .await?;
                    (download, Some((start, end)))
                }
                RangeRequest::Unsatisfiable => {
                    let content_range = format!("bytes */{}", meta.size);
                    return Ok((
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        [(header::CONTENT_RANGE, content_range)],
                    )
                        .into_response());
                }
                RangeRequest::Ignored => (s.artifacts.open(path, None, None).await?, None),
            }
        }
    };
    let size = download.size;
    let (status, len) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        None => (StatusCode::OK, size),
    };
    let counted = download
        .body
        .inspect_ok(|chunk| keel_metrics::global().artifact_bytes_out(chunk.len() as u64));
    let mut response = (status, Body::from_stream(counted)).into_response();
    let h = response.headers_mut();
    let name = path.segments().last().map_or("", String::as_str);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(artifact_headers::content_type(name)),
    );
    // Artifacts are user content: never let a browser run it as this origin's page (the
    // reference serves HTML as text/html; here it is also sandboxed).
    artifact_headers::mark_attachment(h, name);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    if let Some((start, end)) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

/// Streams the request body into the artifact at the path, replacing any previous version.
pub async fn upload(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Json<Empty>> {
    let path = artifact_path(path)?;
    s.artifacts.write(&path, body_stream(body)).await?;
    Ok(empty())
}

pub async fn delete(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Empty>> {
    s.artifacts.delete(&artifact_path(path)?).await?;
    Ok(empty())
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunListOut {
    pub(crate) root_uri: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<FileOut>,
}

/// Lists a run's artifacts under `path`; entries are named relative to the run's artifact root.
pub async fn list_run(
    State(s): State<AppState>,
    req: MlflowRequest<RunArtifactIn>,
) -> ApiResult<Json<RunListOut>> {
    Ok(Json(list_run_files(&s, req.message).await?))
}

/// A run's artifacts under `path` (`artifacts/list` and GraphQL's `mlflowListArtifacts`).
pub(crate) async fn list_run_files(s: &AppState, m: RunArtifactIn) -> Result<RunListOut, Error> {
    let (root_uri, listed, relative) = run_artifact(s, m).await?;
    list_relative(s, root_uri, &listed, &relative).await
}

/// Lists the store folder `listed` (= `relative` under the artifact root `root_uri`), naming
/// entries relative to that root, as `artifacts/list` and logged-model listings answer.
pub(crate) async fn list_relative(
    s: &AppState,
    root_uri: String,
    listed: &ArtifactPath,
    relative: &ArtifactPath,
) -> Result<RunListOut, Error> {
    let files = s.artifacts.list(listed).await?;
    let files = files
        .into_iter()
        .map(|f| {
            let name = ArtifactPath::parse(&f.name).unwrap_or_default();
            FileOut {
                path: relative.join(&name).as_string(),
                is_dir: f.is_dir,
                file_size: f.size,
            }
        })
        .collect();
    Ok(RunListOut { root_uri, files })
}

/// What a `Range` header asks for, given the file size.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Inclusive byte bounds.
    Satisfiable(u64, u64),
    Unsatisfiable,
    /// Not a single byte range we serve (e.g. several ranges): send the whole file.
    Ignored,
}

fn byte_range(spec: &str, size: u64) -> RangeRequest {
    let Some(spec) = spec.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Ignored;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (first.trim().is_empty(), parse(first), parse(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) if n > 0 => (size.saturating_sub(n), size.saturating_sub(1)),
        (true, _, _) => return RangeRequest::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => (start, size.saturating_sub(1)),
        (false, Some(start), Some(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
        _ => return RangeRequest::Ignored,
    };
    if size == 0 || start >= size {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Satisfiable(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        use RangeRequest::*;
        assert_eq!(byte_range("bytes=0-9", 100), Satisfiable(0, 9));
        assert_eq!(byte_range("bytes=90-", 100), Satisfiable(90, 99));
        assert_eq!(byte_range("bytes=-10", 100), Satisfiable(90, 99));
        assert_eq!(byte_range("bytes=50-500", 100), Satisfiable(50, 99));
        assert_eq!(byte_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(byte_range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(byte_range("bytes=5-1", 100), Ignored);
        assert_eq!(byte_range("bytes=0-1,4-5", 100), Ignored);
        assert_eq!(byte_range("items=0-1", 100), Ignored);
        assert_eq!(byte_range("bytes=x-y", 100), Ignored);
    }
}

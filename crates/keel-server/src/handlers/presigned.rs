//! Signed URLs for direct access to artifacts in object storage (S3), as the reference hands
//! them out: `GET mlflow-artifacts/presigned/{*path}` in the artifact proxy's namespace (the
//! official client asks for one before each download when `server-info` advertises
//! `multipart_downloads_enabled`), and `artifacts/presigned-download-url` and
//! `artifacts/presigned-upload-url` for the artifacts of a run (or, for uploads, a logged model)
//! stored directly in the bucket. Stores that cannot sign URLs answer 501, with the reference's
//! messages.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use keel_artifacts::{ArtifactPath, SignedRequest};
use keel_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

use super::artifacts::artifact_path;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::proto::{opt_i64, opt_string};

/// How long a download URL works (the reference's `MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS`
/// default) and an upload URL (its fixed value), unless the request names another.
const DOWNLOAD_SECONDS: i64 = 300;
const UPLOAD_SECONDS: i64 = 900;
/// The longest a request may ask for: S3's limit for SigV4 query signatures (seven days).
const MAX_SECONDS: i64 = 604_800;

fn not_implemented(what: &str) -> Error {
    Error::new(
        ErrorCode::NotImplemented,
        format!("{what} is not supported for the current artifact repository"),
    )
}

/// The answer of `GET mlflow-artifacts/presigned/{*path}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PresignedDownloadOut {
    url: String,
    headers: std::collections::BTreeMap<String, String>,
    file_size: u64,
}

/// `GET /api/2.0/mlflow-artifacts/presigned/{*path}`: a download URL for a file of the proxied
/// artifact store, with its size.
pub async fn proxied_download(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<PresignedDownloadOut>> {
    let path = artifact_path(path)?;
    if !s.artifacts.signs_urls() {
        return Err(not_implemented("Multipart download").into());
    }
    let ttl = Duration::from_secs(DOWNLOAD_SECONDS.unsigned_abs());
    let (signed, file_size) = s.artifacts.presign_download(&path, ttl).await?;
    Ok(Json(PresignedDownloadOut {
        url: signed.url,
        headers: signed.headers.into_iter().collect(),
        file_size,
    }))
}

/// `artifacts/presigned-download-url` and `artifacts/presigned-upload-url`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct PresignIn {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    /// Uploads only: a logged model instead of a run.
    #[serde(default, deserialize_with = "opt_string")]
    model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    path: Option<String>,
    /// Seconds the URL works.
    #[serde(default, deserialize_with = "opt_i64")]
    expiration: Option<i64>,
}

/// A signed URL with the headers its request must send (and, for downloads, the file's size).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PresignOut {
    presigned_url: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
}

impl PresignOut {
    fn of(signed: SignedRequest, file_size: Option<u64>) -> Self {
        Self {
            presigned_url: signed.url,
            headers: signed.headers.into_iter().collect(),
            file_size,
        }
    }
}

/// How long a URL works: `expiration` seconds (1 to [`MAX_SECONDS`]), else `default`.
fn lifetime(expiration: Option<i64>, default: i64) -> Result<Duration, Error> {
    let seconds = expiration.unwrap_or(default);
    if !(1..=MAX_SECONDS).contains(&seconds) {
        return Err(Error::invalid(format!(
            "expiration must be between 1 and {MAX_SECONDS} seconds (got {seconds})."
        )));
    }
    Ok(Duration::from_secs(seconds.unsigned_abs()))
}

/// The requested path, checked as every artifact path is (`..`, absolute paths: `Invalid path`).
fn requested_path(path: Option<String>) -> Result<ArtifactPath, Error> {
    let path = path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::missing_parameter("path"))?;
    ArtifactPath::parse(&path)
}

/// `artifact_uri` + `path` as a path of this server's store, when the URI is a location in it
/// written directly (not through the proxy): a `mlflow-artifacts:` or HTTP URI is refused with
/// the reference's message, any other location outside the store cannot be signed.
fn direct_path(
    s: &AppState,
    artifact_uri: &str,
    path: &ArtifactPath,
    action: &str,
    owner: &str,
) -> Result<ArtifactPath, Error> {
    let scheme = artifact_uri
        .split_once(':')
        .map_or("", |(scheme, _)| scheme);
    if ["mlflow-artifacts", "http", "https"].contains(&scheme) {
        return Err(Error::invalid(format!(
            "Presigned {action} is not supported for {owner}proxied artifact storage (artifact URI \
             scheme: {scheme}). This endpoint requires {} direct cloud storage artifact URI.",
            if owner.is_empty() {
                "a"
            } else {
                "a run with a"
            }
        )));
    }
    let unsupported = || not_implemented(&format!("Presigned {action}"));
    if !s.artifacts.signs_urls() {
        return Err(unsupported());
    }
    let root = s.artifacts.location();
    let relative = artifact_uri
        .strip_prefix(root.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(unsupported)?;
    Ok(ArtifactPath::parse(relative)?.join(path))
}

/// `POST /api/2.0/mlflow/artifacts/presigned-download-url`: a download URL for a file of a run
/// whose artifacts are stored directly in the bucket, and its size.
pub async fn run_download(
    State(s): State<AppState>,
    req: MlflowRequest<PresignIn>,
) -> ApiResult<Json<PresignOut>> {
    let m = req.message;
    let run_id = m
        .run_id
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Error::missing_parameter("run_id"))?;
    let path = requested_path(m.path)?;
    let ttl = lifetime(m.expiration, DOWNLOAD_SECONDS)?;
    let info = s.tracking.run_info(&run_id).await?;
    let path = direct_path(&s, &info.artifact_uri, &path, "download", "runs with ")?;
    let (signed, size) = s.artifacts.presign_download(&path, ttl).await?;
    Ok(Json(PresignOut::of(signed, Some(size))))
}

/// `POST /api/2.0/mlflow/artifacts/presigned-upload-url`: an upload URL for a file of a run or
/// a logged model (exactly one) whose artifacts are stored directly in the bucket, with the
/// `Content-Type` the upload must send.
pub async fn upload(
    State(s): State<AppState>,
    req: MlflowRequest<PresignIn>,
) -> ApiResult<Json<PresignOut>> {
    let m = req.message;
    let path = requested_path(m.path)?;
    let artifact_uri = match (
        m.run_id.filter(|r| !r.is_empty()),
        m.model_id.filter(|r| !r.is_empty()),
    ) {
        (Some(run_id), None) => s.tracking.run_info(&run_id).await?.artifact_uri,
        (None, Some(model_id)) => {
            s.tracking
                .get_logged_model(&model_id, true)
                .await?
                .artifact_location
        }
        _ => {
            return Err(
                Error::invalid("Exactly one of run_id and model_id must be provided.").into(),
            );
        }
    };
    let ttl = lifetime(m.expiration, UPLOAD_SECONDS)?;
    let content_type = super::artifact_headers::guessed_type(&path.as_string());
    let path = direct_path(&s, &artifact_uri, &path, "upload", "")?;
    let signed = s.artifacts.presign_upload(&path, content_type, ttl).await?;
    Ok(Json(PresignOut::of(signed, None)))
}

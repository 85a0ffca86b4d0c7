//! Proxied multipart upload (`/api/2.0/mlflow-artifacts/mpu/...`), as the MLflow client speaks it
//! when `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` is on or `server-info` advertises it.
//!
//! `mpu/create/<dir>` answers with an upload ID and one URL per part. Where the reference hands
//! out presigned cloud URLs (and refuses local storage), Keel's part URLs point back at Keel
//! itself (`mpu/part/<upload_id>/<part_number>?...&signature=`), built from the `Host` the
//! client used, so multipart works on every artifact store. The client PUTs each part there
//! (without its tracking credentials: the URL's signature, binding upload, part, creator and
//! expiry, is what authorizes a part; see `upload_urls`), then
//! `mpu/complete/<dir>` assembles the parts or `mpu/abort/<dir>` drops them. As in the
//! reference, the URL names the folder and the body's `path` (the client's local file) supplies
//! the file name.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use keel_artifacts::{ArtifactPath, CompletedPart, MAX_PARTS, PartNumber, UploadId};
use keel_core::Error;
use serde::{Deserialize, Serialize};

use super::artifacts::{artifact_path, body_stream};
use super::{Empty, empty};
use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateIn {
    /// The client's local file; its base name is the uploaded file's name.
    pub path: Option<String>,
    pub num_parts: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Credential {
    url: String,
    part_number: i64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreateOut {
    upload_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<Credential>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct PartIn {
    pub part_number: Option<i64>,
    pub etag: Option<String>,
    /// The part's URL, echoed by the client; not needed.
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CompleteIn {
    pub path: Option<String>,
    pub upload_id: Option<String>,
    pub parts: Option<Vec<PartIn>>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct AbortIn {
    pub path: Option<String>,
    pub upload_id: Option<String>,
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::missing_parameter(name))
}

/// The uploaded file: the folder from the URL joined with the base name of the client's file.
fn target(
    dir: Result<Path<String>, PathRejection>,
    local_file: Option<String>,
) -> Result<ArtifactPath, Error> {
    let dir = artifact_path(dir)?;
    let local_file = required(local_file, "path")?;
    let name = local_file.rsplit(['/', '\\']).next().unwrap_or_default();
    let name = ArtifactPath::parse(name)?;
    if name.segments().len() != 1 {
        return Err(Error::invalid(format!(
            "Invalid value for parameter 'path': '{}' does not end in a file name",
            local_file.chars().take(200).collect::<String>()
        )));
    }
    Ok(dir.join(&name))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `Host` values that can go into a URL as they are: a name or IP literal and an optional port.
fn url_host(headers: &HeaderMap, uri: &Uri) -> Result<String, Error> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| Error::invalid("A Host header is needed to build the part upload URLs"))?;
    let valid = !host.is_empty()
        && host.len() <= 260
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    if valid {
        Ok(host)
    } else {
        Err(Error::invalid(format!(
            "Invalid Host header '{}'",
            host.chars()
                .take(100)
                .flat_map(char::escape_default)
                .collect::<String>()
        )))
    }
}

/// `http(s)://<host><prefix><mount>/mpu/part/<upload_id>/`: the mount (`/api/2.0/mlflow-artifacts`
/// or the ajax one) the client used for `mpu/create`, under the server's `--static-prefix`.
fn part_url_base(
    headers: &HeaderMap,
    uri: &Uri,
    prefix: &str,
    upload: &UploadId,
) -> Result<String, Error> {
    let host = url_host(headers, uri)?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let path = uri.path();
    let mount = path
        .find("/mpu/create/")
        .map(|i| &path[..i])
        .ok_or_else(|| Error::internal("mpu/create served at an unexpected path"))?;
    Ok(format!(
        "{scheme}://{host}{prefix}{mount}/mpu/part/{upload}/"
    ))
}

/// `POST mpu/create/<dir>`: starts an upload and hands out one part URL per part.
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    dir: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    req: MlflowRequest<CreateIn>,
) -> ApiResult<Json<CreateOut>> {
    let path = target(dir, req.message.path)?;
    let num_parts = req.message.num_parts.unwrap_or(0);
    if !(0..=i64::from(MAX_PARTS)).contains(&num_parts) {
        return Err(Error::invalid(format!(
            "Invalid value {num_parts} for parameter 'num_parts': expected 0 to {MAX_PARTS}"
        ))
        .into());
    }
    // Check the Host before creating anything.
    url_host(&headers, &uri)?;
    let upload = s.artifacts.create_multipart(&path).await?;
    let base = part_url_base(&headers, &uri, &s.static_prefix, &upload)?;
    let expires = unix_now() + crate::upload_urls::PART_URL_LIFETIME_SECS;
    let credentials = (1..=num_parts)
        .map(|n| Credential {
            url: format!(
                "{base}{n}?{}",
                s.part_urls
                    .query(&upload.to_string(), n, caller.0.user.id, expires)
            ),
            part_number: n,
        })
        .collect();
    tracing::info!(upload_id = %upload, path = %path, num_parts, "multipart upload created");
    Ok(Json(CreateOut {
        upload_id: upload.to_string(),
        credentials,
    }))
}

/// `PUT mpu/part/<upload_id>/<part_number>`: stores one part; answers with its ETag.
pub async fn put_part(
    State(s): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let Path((upload_text, part_text)) =
        ids.map_err(|e| Error::invalid(format!("Invalid part URL: {e}")))?;
    let upload = UploadId::parse(&upload_text)?;
    let part = PartNumber::parse(&part_text)?;
    // The URL's signature is the credential: checked before anything is read or stored.
    let part_number: i64 = part_text
        .parse()
        .map_err(|_| Error::invalid(format!("Invalid part number '{part_text}'")))?;
    s.part_urls.check(
        &upload_text,
        part_number,
        uri.query().unwrap_or(""),
        unix_now(),
    )?;
    let receipt = s
        .artifacts
        .put_part(&upload, part, body_stream(body))
        .await?;
    let mut response = empty().into_response();
    let etag = HeaderValue::from_str(&receipt.etag)
        .map_err(|_| Error::internal("the store returned an ETag that is not a header value"))?;
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
}

/// `POST mpu/complete/<dir>`: assembles the parts, in order, into the file.
pub async fn complete(
    State(s): State<AppState>,
    dir: Result<Path<String>, PathRejection>,
    req: MlflowRequest<CompleteIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let path = target(dir, m.path)?;
    let upload = UploadId::parse(&required(m.upload_id, "upload_id")?)?;
    let mut parts = required(m.parts, "parts")?
        .into_iter()
        .map(|p| {
            Ok(CompletedPart {
                part_number: PartNumber::new(required(p.part_number, "parts.part_number")?)?,
                etag: p.etag.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    parts.sort_by_key(|p| p.part_number);
    s.artifacts
        .complete_multipart(&path, &upload, &parts)
        .await?;
    tracing::info!(upload_id = %upload, path = %path, parts = parts.len(), "multipart upload completed");
    Ok(empty())
}

/// `POST mpu/abort/<dir>`: drops the upload and its staged parts.
pub async fn abort(
    State(s): State<AppState>,
    dir: Result<Path<String>, PathRejection>,
    req: MlflowRequest<AbortIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let path = target(dir, m.path)?;
    let upload = UploadId::parse(&required(m.upload_id, "upload_id")?)?;
    s.artifacts.abort_multipart(&path, &upload).await?;
    tracing::info!(upload_id = %upload, path = %path, "multipart upload aborted");
    Ok(empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("header"));
        h
    }

    #[test]
    fn part_urls_follow_the_host_and_mount_the_client_used() {
        let upload = UploadId::parse("0123456789abcdef0123456789abcdef").expect("valid");
        let uri: Uri = "/ajax-api/2.0/mlflow-artifacts/mpu/create/1/abc/artifacts"
            .parse()
            .expect("uri");
        assert_eq!(
            part_url_base(&headers("127.0.0.1:5000"), &uri, "", &upload)
                .ok()
                .as_deref(),
            Some(
                "http://127.0.0.1:5000/ajax-api/2.0/mlflow-artifacts/mpu/part/\
                 0123456789abcdef0123456789abcdef/"
            )
        );
        let mut https = headers("keel.example");
        https.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(
            part_url_base(&https, &uri, "", &upload)
                .is_ok_and(|u| u.starts_with("https://keel.example/ajax-api/"))
        );
        assert!(
            part_url_base(&https, &uri, "/mlflow", &upload)
                .is_ok_and(|u| u.starts_with("https://keel.example/mlflow/ajax-api/"))
        );
        for bad in ["evil.example/x?", "a b", "host@evil", ""] {
            assert!(url_host(&headers(bad), &uri).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_name_comes_from_the_clients_path() {
        let dir = |p: &str| Ok(Path(p.to_owned()));
        let t = |d: &str, f: &str| target(dir(d), Some(f.to_owned())).map(|p| p.as_string());
        assert_eq!(
            t("1/r/artifacts", "/tmp/x/big.bin").ok().as_deref(),
            Some("1/r/artifacts/big.bin")
        );
        assert_eq!(
            t("d", "C:\\Users\\me\\m.pt").ok().as_deref(),
            Some("d/m.pt")
        );
        assert!(t("d", "/tmp/dir/").is_err());
        assert!(t("d", "..").is_err());
        assert!(target(dir("d"), None).is_err());
        assert!(t("../etc", "x").is_err());
    }
}

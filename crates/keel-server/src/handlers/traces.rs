//! Handlers of the trace routes: OTLP/HTTP span export (`POST /v1/traces`) and MLflow's v3
//! trace API (start/get trace info, get trace with spans, batch reads).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_core::Error;
use keel_core::traces::{IncomingSpan, TraceInfo};
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::otlp::{self, DecodeError, Encoding};
use crate::wire::proto::{one_or_many, opt_string};
use crate::wire::traces::{TraceInfoEnvelope, TraceInfoV3, TraceOut, otel_span, span_dict};

/// The header naming the experiment OTLP spans go to.
pub const EXPERIMENT_HEADER: &str = "x-mlflow-experiment-id";
/// The optional header naming a run the exported traces (those whose root span is in the batch)
/// are linked to.
pub const RUN_HEADER: &str = "x-mlflow-run-id";

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /v1/traces`: an OTLP/HTTP export of spans, protobuf or JSON, for the experiment named
/// in `x-mlflow-experiment-id`.
pub async fn export(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let encoding = match header_str(&headers, header::CONTENT_TYPE.as_str())
        .and_then(Encoding::from_content_type)
    {
        Some(e) => e,
        None => {
            return api_error(Error::invalid(
                "Invalid Content-Type for an OTLP export: use application/x-protobuf or \
                 application/json.",
            ));
        }
    };
    // Read with the OTLP limit rather than the default one: a compressed body is at most as
    // large as what it inflates to, and span batches run to several megabytes.
    let limit = s.limits.max_otlp_body_bytes;
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        return too_large(limit);
    };
    match export_spans(&s, &headers, body, encoding, limit).await {
        Ok((rejected, why)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoding.content_type())],
            Body::from(otlp::encode_response(encoding, rejected, why)),
        )
            .into_response(),
        Err(e) => e,
    }
}

async fn export_spans(
    s: &AppState,
    headers: &HeaderMap,
    body: Bytes,
    encoding: Encoding,
    limit: usize,
) -> Result<(i64, Option<String>), Response> {
    let experiment_id = header_str(headers, EXPERIMENT_HEADER)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            api_error(Error::invalid(format!(
                "Missing header '{EXPERIMENT_HEADER}': the ID of the experiment the spans belong to."
            )))
        })?;
    let content_encoding =
        header_str(headers, header::CONTENT_ENCODING.as_str()).map(str::to_owned);
    // Inflating and decoding are CPU work proportional to the body: off the async workers.
    let received = tokio::task::spawn_blocking(move || {
        let raw = otlp::decompress(&body, content_encoding.as_deref(), limit)?;
        otlp::decode_request(&raw, encoding).map(otlp::received_spans)
    })
    .await
    .map_err(|_| api_error(Error::internal("OTLP decoding failed")))?
    .map_err(|e| decode_error(e, limit))?;
    let run_id = header_str(headers, RUN_HEADER)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(run_id) = run_id {
        s.tracking.get_run(run_id).await.map_err(api_error)?;
    }
    let rooted: Vec<String> = received
        .spans
        .iter()
        .filter(|r| r.span.is_root())
        .map(|r| r.span.trace_id.to_string())
        .collect();
    let span_count = received.spans.len() as u64;
    let spans = received
        .spans
        .into_iter()
        .map(|r| IncomingSpan {
            span: r.span,
            resource: r.resource,
        })
        .collect();
    s.traces
        .ingest(experiment_id, spans)
        .await
        .map_err(api_error)?;
    keel_metrics::global().otlp_spans.inc_by(span_count);
    if let (Some(run_id), false) = (run_id, rooted.is_empty()) {
        for chunk in rooted.chunks(keel_core::traces::annotations::MAX_TRACES_PER_LINK) {
            s.traces
                .link_traces_to_run(chunk, run_id)
                .await
                .map_err(api_error)?;
        }
    }
    Ok((received.rejected, received.rejection))
}

fn api_error(e: Error) -> Response {
    crate::error::ApiError(e).into_response()
}

fn decode_error(e: DecodeError, limit: usize) -> Response {
    match e {
        DecodeError::Invalid(m) | DecodeError::UnsupportedEncoding(m) => {
            api_error(Error::invalid(m))
        }
        DecodeError::TooLarge => too_large(limit),
    }
}

/// 413 Payload Too Large, which OTLP exporters do not retry (MLflow's error table has no such
/// status, so the response is built here, in MLflow's error shape).
fn too_large(limit: usize) -> Response {
    let body = serde_json::json!({
        "error_code": "REQUEST_LIMIT_EXCEEDED",
        "message": format!("The OTLP request is larger than {limit} bytes once decompressed."),
    });
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// `POST /api/3.0/mlflow/traces` (StartTraceV3): the client's info of a finished trace.
pub async fn start(
    State(s): State<AppState>,
    req: MlflowRequest<TraceInfoEnvelope>,
) -> ApiResult<Json<TraceInfoEnvelope>> {
    let info = s.traces.start_trace(req.message.into_info()?).await?;
    Ok(Json(info_envelope(&s, info).await?))
}

/// Trace infos as every read returns them: with their assessments.
pub(crate) async fn with_assessments(
    s: &AppState,
    infos: Vec<TraceInfo>,
) -> Result<Vec<TraceInfoV3>, Error> {
    let ids: Vec<_> = infos.iter().map(|i| i.trace_id.clone()).collect();
    let mut by_trace = s.traces.assessments_of(&ids).await?;
    Ok(infos
        .into_iter()
        .map(|info| {
            let assessments = by_trace.remove(&info.trace_id).unwrap_or_default();
            TraceInfoV3::with_assessments(info, &assessments)
        })
        .collect())
}

async fn info_envelope(s: &AppState, info: TraceInfo) -> Result<TraceInfoEnvelope, Error> {
    let assessments = s
        .traces
        .assessments_of(std::slice::from_ref(&info.trace_id))
        .await?;
    let assessments = assessments
        .get(&info.trace_id)
        .map_or(&[][..], Vec::as_slice);
    Ok(TraceInfoEnvelope::of(info, assessments))
}

pub(crate) fn trace_id(path: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(id) = path.map_err(|e| Error::invalid(format!("Invalid trace ID: {e}")))?;
    Ok(id)
}

/// `GET /api/3.0/mlflow/traces/{trace_id}` (GetTraceInfoV3).
pub async fn get_info(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<TraceInfoEnvelope>> {
    let info = s.traces.get_trace_info(&trace_id(path)?).await?;
    Ok(Json(info_envelope(&s, info).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct GetTraceIn {
    #[serde(default, deserialize_with = "opt_string")]
    trace_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    allow_partial: Option<String>,
}

/// What `traces/get` sends (written a page of spans at a time, so only its schema is declared
/// as a type).
#[derive(Serialize, schemars::JsonSchema)]
pub struct GetTraceOut {
    trace: TraceOut,
}

/// `GET /api/3.0/mlflow/traces/get?trace_id=` (GetTrace): the info and every span, streamed a
/// page of spans at a time, so a trace of tens of thousands of spans is never held whole.
pub async fn get(State(s): State<AppState>, req: MlflowRequest<GetTraceIn>) -> ApiResult<Response> {
    let trace_id = req.message.trace_id.unwrap_or_default();
    let allow_partial = req
        .message
        .allow_partial
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let reader = s.traces.read_trace(&trace_id, allow_partial).await?;
    let info = TraceInfoV3::with_assessments(reader.info.clone(), &reader.assessments);
    let head = format!(
        "{{\"trace\":{{\"trace_info\":{},\"spans\":[",
        serde_json::to_string(&info).map_err(|e| Error::internal(e.to_string()))?
    );
    Ok(super::stream::json_array(
        head,
        reader,
        |span, out| {
            // Rendering a JSON value into memory cannot fail.
            let _ = serde_json::to_writer(out, &otel_span(&span));
        },
        "]}}",
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct TraceArtifactIn {
    #[serde(default, deserialize_with = "opt_string")]
    request_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    path: Option<String>,
}

/// The name of the file a trace's spans are downloaded as.
const TRACE_DATA_FILE: &str = "traces.json";

/// `GET /ajax-api/{2,3}.0/mlflow/get-trace-artifact?request_id=` (the reference's web UI): the
/// trace's spans as the `traces.json` file the reference serves (`{"spans": [...]}` in its span
/// dictionary form), streamed a page of spans at a time; with `path`, that file among the
/// trace's attachments (which the client uploads through the artifact proxy).
pub async fn artifact(
    State(s): State<AppState>,
    headers: HeaderMap,
    req: MlflowRequest<TraceArtifactIn>,
) -> ApiResult<Response> {
    let trace_id = req
        .message
        .request_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(
                keel_core::ErrorCode::BadRequest,
                "Request must include the \"request_id\" query parameter.",
            )
        })?;
    if let Some(path) = req.message.path.filter(|p| !p.is_empty()) {
        let relative = keel_artifacts::ArtifactPath::parse(&path)?;
        let info = s.traces.get_trace_info(&trace_id).await?;
        let location = info
            .tags
            .get(keel_core::traces::trace_tags::ARTIFACT_LOCATION)
            .ok_or_else(|| Error::not_found(format!("Trace '{trace_id}' has no attachments.")))?;
        let file = keel_artifacts::proxied_path(location)?
            .join(&keel_artifacts::ArtifactPath::parse("attachments")?)
            .join(&relative);
        return super::artifacts::serve_file(&s, &file, &headers).await;
    }
    let reader = s.traces.read_trace(&trace_id, true).await?;
    let mut response = super::stream::json_array(
        "{\"spans\":[".to_owned(),
        reader,
        |span, out| {
            // Rendering a JSON value into memory cannot fail.
            let _ = serde_json::to_writer(out, &span_dict(&span));
        },
        "]}",
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    super::artifact_headers::mark_attachment(h, TRACE_DATA_FILE);
    Ok(response)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct TraceIdsIn {
    #[serde(default, deserialize_with = "one_or_many")]
    trace_ids: Vec<String>,
}

/// Most traces one batch read may name.
const MAX_BATCH: usize = 100;

fn ids(message: TraceIdsIn) -> Result<Vec<String>, Error> {
    if message.trace_ids.is_empty() {
        return Err(Error::missing_parameter("trace_ids"));
    }
    if message.trace_ids.len() > MAX_BATCH {
        return Err(Error::invalid(format!(
            "At most {MAX_BATCH} trace IDs may be requested at once; got {}.",
            message.trace_ids.len()
        )));
    }
    Ok(message.trace_ids)
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TracesOut {
    traces: Vec<TraceOut>,
}

/// `GET /api/3.0/mlflow/traces/batchGet?trace_ids=...`: the complete traces among those named.
pub async fn batch_get(
    State(s): State<AppState>,
    req: MlflowRequest<TraceIdsIn>,
) -> ApiResult<Json<TracesOut>> {
    let traces = s.traces.batch_get(&ids(req.message)?).await?;
    Ok(Json(TracesOut {
        traces: traces.into_iter().map(TraceOut::from).collect(),
    }))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TraceInfosOut {
    trace_infos: Vec<TraceInfoV3>,
}

/// `POST /api/3.0/mlflow/traces/batchGetInfos`: the infos of the traces named that exist.
pub async fn batch_get_infos(
    State(s): State<AppState>,
    req: MlflowRequest<TraceIdsIn>,
) -> ApiResult<Json<TraceInfosOut>> {
    let infos = s.traces.batch_get_infos(&ids(req.message)?).await?;
    Ok(Json(TraceInfosOut {
        trace_infos: with_assessments(&s, infos).await?,
    }))
}

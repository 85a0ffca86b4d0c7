//! The gateway's outbound HTTP client: no redirects, no proxies from the environment, a time
//! limit on every call, and the operator's upstream rules checked again at connect time — host
//! names through the client's own resolver (the addresses it connects to are the ones checked,
//! so DNS rebinding cannot slip a private address in), IP literals and schemes before sending.
//! Answers are read as the reference reads them (§11.5 of docs/reference/gateway.md), within a
//! size bound.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use super::error::CallError;
use crate::destination::DestinationPolicy;

/// The reference's default time limit for one upstream call (`MLFLOW_GATEWAY_ROUTE_TIMEOUT_SECONDS`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest non-streamed answer read from an upstream (a large batch of embeddings fits).
pub const MAX_ANSWER_BYTES: usize = 128 * 1024 * 1024;
/// How much of an error answer is read.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A host the operator's rules do not allow; found in a request error's source chain.
#[derive(Debug)]
struct RefusedHost(String);

impl std::fmt::Display for RefusedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedHost {}

fn refused(host: &str, ip: IpAddr) -> String {
    format!(
        "Gateway upstream connection blocked: '{host}' resolves to {ip}, which is not a public \
         IP address. (The operator can allow private upstreams with \
         gateway_allow_private_upstreams.)"
    )
}

#[derive(Debug)]
struct GuardedResolver {
    policy: DestinationPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.policy.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private
                && let Some(bad) = addrs
                    .iter()
                    .find(|a| !keel_core::webhooks::is_public_ip(a.ip()))
            {
                return Err(Box::new(RefusedHost(refused(&host, bad.ip())))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The outbound client, shared by every call.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    policy: DestinationPolicy,
}

impl Upstream {
    pub fn new(policy: DestinationPolicy, timeout: Duration) -> keel_core::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("keel-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                keel_core::Error::internal(format!("cannot build the gateway HTTP client: {e}"))
            })?;
        Ok(Self { client, policy })
    }

    /// The scheme and IP-literal checks the resolver cannot make (a secret saved before the
    /// operator tightened the rules is refused here).
    fn check(&self, url: &url::Url) -> Result<(), CallError> {
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_http => {}
            scheme => {
                return Err(CallError::http(
                    502,
                    format!(
                        "Gateway upstream scheme '{scheme}' is not allowed. (The operator can \
                         allow plain HTTP upstreams with gateway_allow_http_upstreams.)"
                    ),
                ));
            }
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.policy.allow_private || keel_core::webhooks::is_public_ip(ip) {
            Ok(())
        } else {
            Err(CallError::http(502, refused(&ip.to_string(), ip)))
        }
    }

    /// Sends the request, within `timeout` when given (else the client's limit).
    async fn send(
        &self,
        url: url::Url,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, CallError> {
        self.check(&url)?;
        let mut request = self
            .client
            .post(url)
            .headers(headers)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        request.send().await.map_err(failed)
    }

    /// POSTs a JSON body and reads the answer: JSON, or `{"message": text}` for plain text;
    /// a non-2xx answer is an error with the upstream's status and message.
    pub async fn post_json(
        &self,
        url: url::Url,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Value, CallError> {
        let resp = self.send(url, headers, body, timeout).await?;
        let status = resp.status();
        let kind = content_type(&resp);
        let limit = if status.is_success() {
            MAX_ANSWER_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let bytes = read_limited(resp, limit).await?;
        let answer = if kind.contains("application/json") {
            serde_json::from_slice(&bytes).map_err(|e| {
                CallError::http(502, format!("The upstream answered with invalid JSON: {e}"))
            })?
        } else if kind.contains("text/plain") || !status.is_success() {
            json!({"message": String::from_utf8_lossy(&bytes)})
        } else {
            return Err(CallError::http(
                502,
                format!(
                    "The returned data type from the route service is not supported. Received \
                     content type: {kind}"
                ),
            ));
        };
        if status.is_success() {
            Ok(answer)
        } else {
            Err(upstream_error(status.as_u16(), answer))
        }
    }

    /// POSTs a JSON body asking for a stream; a non-2xx answer is an error (read in full, it
    /// is small), a 2xx answer is returned for its body to be read as it arrives.
    pub async fn open_stream(
        &self,
        url: url::Url,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, CallError> {
        let resp = self.send(url, headers, body, timeout).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = read_limited(resp, MAX_ERROR_BYTES).await?;
        let detail = match serde_json::from_slice::<Value>(&bytes) {
            Ok(js) => error_detail(&js).unwrap_or(js),
            Err(_) if !bytes.is_empty() => Value::String(String::from_utf8_lossy(&bytes).into()),
            Err(_) => Value::String(
                status
                    .canonical_reason()
                    .unwrap_or("upstream error")
                    .to_owned(),
            ),
        };
        Err(CallError::Http {
            status: status.as_u16(),
            detail,
        })
    }
}

/// The content type of an answer, lower-cased (empty when absent).
pub fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The error message of a provider's error answer: `error.message`, else a top-level
/// `message`.
fn error_detail(js: &Value) -> Option<Value> {
    js.pointer("/error/message")
        .or_else(|| js.get("message"))
        .filter(|m| m.is_string())
        .cloned()
}

/// An upstream's non-2xx answer as the reference reports it: its `error.message` when it has
/// an `error`, else the whole answer.
fn upstream_error(status: u16, answer: Value) -> CallError {
    let detail = match answer.get("error") {
        Some(error) => error.get("message").cloned().unwrap_or(error.clone()),
        None => answer,
    };
    CallError::Http { status, detail }
}

/// Reads a whole answer of at most `limit` bytes.
async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, CallError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > limit {
            return Err(CallError::http(
                502,
                format!("The upstream's answer is larger than {limit} bytes."),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request that got no answer: refused by the upstream rules (502), timed out (504), or
/// failed to connect (502). The URL is left out (a query string may carry a key).
pub fn failed(e: reqwest::Error) -> CallError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<RefusedHost>() {
            return CallError::http(502, refused.0.clone());
        }
        source = s.source();
    }
    if e.is_timeout() {
        return CallError::http(504, "The upstream did not answer in time.");
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    CallError::http(502, format!("Gateway upstream request failed: {text}"))
}

//! The RFC 3161 timestamp authority client: POSTs a `TimeStampReq` for a checkpoint note
//! (`application/timestamp-query`), checks the reply's status, imprint and nonce and, when the
//! operator gave the TSA's CA certificates, the token's signature and chain before it is stored.

use std::time::Duration;

use keel_audit::timestamp::{MAX_TOKEN_LEN, TimestampRequest, TrustAnchors, verify};
use keel_core::audit::Timestamper;
use keel_core::{Error, Result};

/// Longest wait for the authority's reply.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A timestamp authority at a URL.
pub struct TsaClient {
    url: String,
    anchors: Option<TrustAnchors>,
    client: reqwest::Client,
}

impl TsaClient {
    /// The authority at `url` (`http://` or `https://`), whose tokens must chain to the
    /// certificates in `ca_pem` when given.
    pub fn new(url: &str, ca_pem: Option<&[u8]>) -> Result<Self> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Error::invalid(format!("invalid timestamp authority URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::invalid(
                "the timestamp authority URL must be http:// or https:// with a host",
            ));
        }
        let anchors = ca_pem
            .map(TrustAnchors::from_pem)
            .transpose()
            .map_err(|e| Error::invalid(format!("invalid timestamp authority CA: {e}")))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .user_agent(concat!("keel-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the TSA HTTP client: {e}")))?;
        Ok(Self {
            url: url.to_owned(),
            anchors,
            client,
        })
    }
}

#[async_trait::async_trait]
impl Timestamper for TsaClient {
    async fn timestamp(&self, message: &[u8]) -> Result<Vec<u8>> {
        let request = TimestampRequest::new(message)
            .map_err(|e| Error::internal(format!("cannot build a timestamp request: {e}")))?;
        let mut response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .body(request.der().to_vec())
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(Error::unavailable(format!(
                "the timestamp authority answered HTTP {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_TOKEN_LEN {
                return Err(Error::unavailable(format!(
                    "the timestamp authority's reply is over {MAX_TOKEN_LEN} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let token = request
            .accept(&body)
            .map_err(|e| Error::unavailable(format!("unusable timestamp reply: {e}")))?;
        if let Some(anchors) = &self.anchors {
            verify(token.response_der(), message, anchors).map_err(|e| {
                Error::unavailable(format!("the timestamp token does not verify: {e}"))
            })?;
        }
        Ok(token.into_response_der())
    }
}

/// A request error, without the URL (it may carry credentials).
fn failed(e: reqwest::Error) -> Error {
    Error::unavailable(format!(
        "the timestamp authority failed: {}",
        e.without_url()
    ))
}

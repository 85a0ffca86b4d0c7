//! Outbound webhook requests: HTTP(S) only, no redirects, no proxies from the environment, a
//! timeout on every request, and targets checked against the [`TargetPolicy`] after DNS
//! resolution by the client's own resolver — the addresses it connects to are the ones checked,
//! so DNS rebinding cannot slip a private address in between check and connect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keel_core::webhooks::{OutboundRequest, SendOutcome, Target, TargetPolicy, Transport, rules};
use keel_core::{Error, Result};

/// Longest wait for a webhook target's answer (connect, send, response).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest DNS lookup when a URL is checked at create or update.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this much of a response body is read.
const MAX_BODY: usize = 4096;

/// A target the policy refuses; found in a request error's source chain.
#[derive(Debug)]
struct RefusedTarget(String);

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedTarget {}

/// Resolves host names and refuses any whose addresses the policy does not allow.
#[derive(Debug)]
struct GuardedResolver {
    policy: TargetPolicy,
}

/// Every address of `host`, or why it may not be reached.
async fn resolve_checked(
    policy: TargetPolicy,
    host: &str,
) -> std::result::Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no addresses").into());
    }
    if let Some(bad) = addrs.iter().find(|a| !policy.allows(a.ip())) {
        tracing::info!(host, ip = %bad.ip(), "webhook delivery refused: non-public address");
        return Err(Box::new(RefusedTarget(format!(
            "webhook target refused: {host} is not an allowed target (non-public address)"
        ))));
    }
    Ok(addrs)
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(policy, &host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The [`Transport`] of a running server.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    policy: TargetPolicy,
}

impl HttpTransport {
    pub fn new(policy: TargetPolicy) -> Result<Self> {
        Self::with_timeout(policy, REQUEST_TIMEOUT)
    }

    pub fn with_timeout(policy: TargetPolicy, timeout: Duration) -> Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("keel-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the webhook HTTP client: {e}")))?;
        Ok(Self { client, policy })
    }

    /// IP-literal URLs skip the resolver, so their address is checked here.
    fn check_literal(&self, url: &str) -> std::result::Result<(), String> {
        match rules::parse_url(url) {
            Ok(Target::Ip(ip)) if !self.policy.allows(ip) => Err(format!(
                "webhook target refused: {ip} is not a public address"
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(e.message),
        }
    }
}

/// A request error as text, without the URL (it may carry tokens), with its causes.
fn describe(e: reqwest::Error) -> (String, bool) {
    let refused = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut found = None;
        while let Some(s) = source {
            if let Some(r) = s.downcast_ref::<RefusedTarget>() {
                found = Some(r.0.clone());
                break;
            }
            source = s.source();
        }
        found
    };
    if let Some(reason) = refused {
        return (reason, false);
    }
    let retryable = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    (text, retryable)
}

/// `Retry-After` as seconds (the delta-seconds form).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn read_body(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_BODY);
    String::from_utf8_lossy(&body).into_owned()
}

#[async_trait]
impl Transport for HttpTransport {
    async fn check_target(&self, url: &str) -> Result<()> {
        let host = match rules::parse_url(url)? {
            Target::Ip(ip) => return self.policy.check(&ip.to_string(), ip),
            Target::Host(host) => host,
        };
        let lookup =
            tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)));
        let addrs: Vec<IpAddr> = match lookup.await {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            Ok(Err(e)) => {
                tracing::info!(host, error = %e, "webhook target refused: cannot resolve");
                return Err(rules::refused_target(&host));
            }
            Err(_) => {
                tracing::info!(host, "webhook target refused: resolving timed out");
                return Err(rules::refused_target(&host));
            }
        };
        for ip in addrs {
            self.policy.check(&host, ip)?;
        }
        Ok(())
    }

    async fn post(&self, request: OutboundRequest) -> SendOutcome {
        if let Err(error) = self.check_literal(&request.url) {
            return SendOutcome::Failed {
                error,
                retryable: false,
            };
        }
        let mut builder = self.client.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        match builder.body(request.body).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after_secs = retry_after(resp.headers());
                SendOutcome::Response {
                    status,
                    retry_after_secs,
                    body: read_body(resp).await,
                }
            }
            Err(e) => {
                let (error, retryable) = describe(e);
                SendOutcome::Failed { error, retryable }
            }
        }
    }
}

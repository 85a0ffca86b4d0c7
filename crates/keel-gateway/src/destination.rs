//! Where a secret may send the gateway: the upstream `api_base` a secret's `auth_config`
//! names, checked as the reference checks it when the secret is saved — HTTPS (HTTP when the
//! operator allows it), no credentials in the URL, a host, IP literals written canonically,
//! and (unless the operator allows private upstreams) only public addresses. Local model
//! servers on a private network are the operator's explicit choice.

use std::net::IpAddr;
use std::time::Duration;

use keel_core::webhooks::is_public_ip;
use keel_core::{Error, Result};

/// How long resolving an `api_base` host may take when a secret is saved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which upstreams secrets may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DestinationPolicy {
    /// `http://` upstreams as well as `https://`.
    pub allow_http: bool,
    /// Loopback, private, link-local and other non-public addresses.
    pub allow_private: bool,
}

const FIELD: &str = "Gateway secret api_base";

/// `repr()` of a string as Python writes it in the reference's messages.
fn repr(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl DestinationPolicy {
    /// Checks `raw` (already trimmed and non-empty).
    pub async fn check(&self, raw: &str) -> Result<()> {
        let url = url::Url::parse(raw)
            .map_err(|e| Error::invalid(format!("Invalid {FIELD} {}: {e}", repr(raw))))?;
        let allowed: &[&str] = if self.allow_http {
            &["http", "https"]
        } else {
            &["https"]
        };
        if !allowed.contains(&url.scheme()) {
            let names: Vec<String> = allowed.iter().map(|s| repr(s)).collect();
            return Err(Error::invalid(format!(
                "Invalid {FIELD} scheme: {}. Allowed schemes are: {}.",
                repr(url.scheme()),
                names.join(", ")
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(format!(
                "{FIELD} must not include embedded credentials: {}",
                repr(raw)
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => Host::Name(d.to_owned()),
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
            _ => {
                return Err(Error::invalid(format!(
                    "{FIELD} must include a hostname: {}",
                    repr(raw)
                )));
            }
        };
        match host {
            Host::Ip(ip) => {
                let written = written_host(raw);
                if written.trim_start_matches('[').trim_end_matches(']') != ip.to_string() {
                    return Err(Error::invalid(format!(
                        "{FIELD} host {} is not a canonical IP address literal.",
                        repr(&written)
                    )));
                }
                self.check_address(&written, ip)
            }
            Host::Name(_) if self.allow_private => Ok(()),
            Host::Name(name) => {
                let port = url.port_or_known_default().unwrap_or(443);
                let resolved = tokio::time::timeout(
                    RESOLVE_TIMEOUT,
                    tokio::net::lookup_host((name.as_str(), port)),
                )
                .await
                .map_err(|_| {
                    Error::invalid(format!(
                        "Timed out resolving {FIELD} hostname {}.",
                        repr(&name)
                    ))
                })?
                .map_err(|e| {
                    Error::invalid(format!(
                        "Cannot resolve {FIELD} hostname {}: {e}",
                        repr(&name)
                    ))
                })?;
                for address in resolved {
                    self.check_address(&name, address.ip())?;
                }
                Ok(())
            }
        }
    }

    fn check_address(&self, host: &str, ip: IpAddr) -> Result<()> {
        if self.allow_private || is_public_ip(ip) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{FIELD} must not resolve to a non-public IP address. {} resolves to {ip}. \
             (The operator can allow private upstreams with gateway_allow_private_upstreams.)",
            repr(host)
        )))
    }
}

enum Host {
    Name(String),
    Ip(IpAddr),
}

/// The host as written in `raw` (between `://` and the next `/`, `?`, `#` or port), which the
/// URL parser would have normalized (`127.1` → `127.0.0.1`).
fn written_host(raw: &str) -> String {
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority.to_owned(), |(h, _)| format!("{h}]"));
    }
    authority.split(':').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: DestinationPolicy = DestinationPolicy {
        allow_http: false,
        allow_private: false,
    };
    const LOCAL: DestinationPolicy = DestinationPolicy {
        allow_http: true,
        allow_private: true,
    };

    async fn message(policy: DestinationPolicy, url: &str) -> String {
        policy.check(url).await.expect_err(url).message
    }

    #[tokio::test]
    async fn the_reference_refusals_read_as_it_writes_them() {
        assert_eq!(
            message(STRICT, "ftp://example.com").await,
            "Invalid Gateway secret api_base scheme: 'ftp'. Allowed schemes are: 'https'."
        );
        assert_eq!(
            message(LOCAL, "ftp://example.com").await,
            "Invalid Gateway secret api_base scheme: 'ftp'. Allowed schemes are: 'http', 'https'."
        );
        assert_eq!(
            message(LOCAL, "https://u:p@example.com").await,
            "Gateway secret api_base must not include embedded credentials: 'https://u:p@example.com'"
        );
        assert_eq!(
            message(LOCAL, "http://127.1:8080/v1").await,
            "Gateway secret api_base host '127.1' is not a canonical IP address literal."
        );
        assert!(
            message(STRICT, "https://127.0.0.1/v1")
                .await
                .starts_with("Gateway secret api_base must not resolve to a non-public IP address. '127.0.0.1' resolves to 127.0.0.1.")
        );
        assert!(
            message(STRICT, "https://[::1]:8443/v1")
                .await
                .contains("resolves to ::1")
        );
        assert!(
            message(STRICT, "https://localhost/v1")
                .await
                .contains("non-public IP address")
        );
    }

    #[tokio::test]
    async fn public_https_or_allowed_local_upstreams_pass() {
        STRICT.check("https://8.8.8.8/v1").await.expect("public IP");
        LOCAL
            .check("http://127.0.0.1:8080/v1")
            .await
            .expect("local server");
        LOCAL
            .check("http://[::1]:8080")
            .await
            .expect("IPv6 literal");
        LOCAL
            .check("http://model-server.internal:8000/v1")
            .await
            .expect("names are not resolved when private upstreams are allowed");
    }

    #[test]
    fn the_written_host_is_read_before_normalization() {
        assert_eq!(written_host("http://127.1:80/x"), "127.1");
        assert_eq!(written_host("https://[::1]:8443/v1"), "[::1]");
        assert_eq!(written_host("https://u:p@h.example/v1"), "h.example");
    }
}

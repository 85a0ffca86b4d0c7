//! Validation of webhook fields with the reference's messages, and the outbound-target rule:
//! which IP addresses a webhook may reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// Longest URL accepted (the reference's column size).
pub const MAX_URL_LEN: usize = 500;
/// Longest description accepted (the reference's column size).
pub const MAX_DESCRIPTION_LEN: usize = 1000;
/// Longest secret accepted.
pub const MAX_SECRET_LEN: usize = 1000;

/// Python's `repr` of a string, as the reference's messages quote values.
fn repr(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`, case-insensitive, 1 to 63 characters.
pub fn validate_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let edge = |b: u8| b.is_ascii_alphanumeric();
    let ok = (1..=63).contains(&bytes.len())
        && bytes.first().copied().is_some_and(edge)
        && bytes.last().copied().is_some_and(edge)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Webhook name {} is invalid. It must start and end with a letter or digit, be less than \
         63 characters long, and contain only letters, digits, dots (.), underscores (_), and \
         hyphens (-).",
        repr(name)
    )))
}

pub fn validate_description(description: &str) -> Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::invalid(format!(
            "Webhook description must be at most {MAX_DESCRIPTION_LEN} characters long."
        )));
    }
    Ok(())
}

pub fn validate_secret(secret: &str) -> Result<()> {
    if secret.len() > MAX_SECRET_LEN {
        return Err(Error::invalid(format!(
            "Webhook secret must be at most {MAX_SECRET_LEN} bytes long."
        )));
    }
    Ok(())
}

/// Where a webhook URL points, once its syntax is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name, resolved when checked and again (and checked) at connect time.
    Host(String),
    Ip(IpAddr),
}

/// Checks a URL's syntax: HTTP(S), a host, no longer than [`MAX_URL_LEN`]. Returns its host.
pub fn parse_url(raw: &str) -> Result<Target> {
    if raw.trim().is_empty() {
        return Err(Error::invalid(format!(
            "Webhook URL cannot be empty or just whitespace: {}",
            repr(raw)
        )));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(Error::invalid(format!(
            "Webhook URL must be at most {MAX_URL_LEN} characters long."
        )));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| Error::invalid(format!("Invalid webhook URL {}: {e}", repr(raw))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(format!(
            "Invalid webhook URL scheme: {}. Allowed schemes are: http, https.",
            repr(url.scheme())
        )));
    }
    match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => Ok(Target::Host(d.to_owned())),
        Some(url::Host::Ipv4(ip)) => Ok(Target::Ip(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => Ok(Target::Ip(IpAddr::V6(ip))),
        _ => Err(Error::invalid(format!(
            "Webhook URL must include a hostname: {}",
            repr(raw)
        ))),
    }
}

/// Which addresses webhooks may reach: public ones, and with `allow_private` any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Whether `ip` may be connected to.
    pub fn allows(self, ip: IpAddr) -> bool {
        self.allow_private || is_public_ip(ip)
    }

    /// INVALID_PARAMETER_VALUE when `ip` is refused. The message names the host only: what
    /// an internal name resolves to is not the caller's business (the log has it).
    pub fn check(self, host: &str, ip: IpAddr) -> Result<()> {
        if self.allows(ip) {
            return Ok(());
        }
        tracing::info!(host, %ip, "webhook target refused: non-public address");
        Err(refused_target(host))
    }
}

/// The one answer for a webhook host that may not be reached, whether it resolves to a
/// non-public address or does not resolve at all, so the answer tells nothing about the
/// network behind the server.
pub fn refused_target(host: &str) -> Error {
    Error::invalid(format!(
        "Webhook URL host {} is not an allowed target: it must resolve to public addresses. \
         (The operator can allow private targets with webhooks_allow_private_targets.)",
        repr(host)
    ))
}

/// Whether `ip` is a globally routable unicast address: not loopback, private, link-local,
/// unique-local, shared (CGNAT), documentation, benchmarking, reserved, unspecified, broadcast
/// or multicast. IPv6 forms that embed an IPv4 address (mapped, compatible, 6to4, NAT64) are
/// judged by that address.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata (169.254.169.254)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    !BLOCKED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible, 6to4 or NAT64 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = |a: u16, b: u16| {
        let [a1, a2] = a.to_be_bytes();
        let [b1, b2] = b.to_be_bytes();
        Ipv4Addr::new(a1, a2, b1, b2)
    };
    if s[..5] == [0; 5]
        && (s[5] == 0xffff
            || (s[5] == 0 && ip != Ipv6Addr::UNSPECIFIED && ip != Ipv6Addr::LOCALHOST))
    {
        return Some(tail(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(tail(s[1], s[2]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return Some(tail(s[6], s[7]));
    }
    None
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments 2001::/23
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x5f00); // segment routing 5f00::/16
    // Only global unicast (2000::/3) is routable on the internet.
    !blocked && (s[0] & 0xe000) == 0x2000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn names_follow_the_reference_pattern() {
        for ok in ["a", "hook-1", "my.hook_2", &"x".repeat(63)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "é", &"x".repeat(64), "a/b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert_eq!(
            parse_url("https://example.com/hook").ok(),
            Some(Target::Host("example.com".into()))
        );
        assert_eq!(
            parse_url("http://127.1:8080/").ok(),
            Some(Target::Ip(ip("127.0.0.1")))
        );
        assert_eq!(parse_url("http://[::1]/").ok(), Some(Target::Ip(ip("::1"))));
        for bad in [
            "",
            "  ",
            "ftp://x/",
            "file:///etc/passwd",
            "http://",
            "nonsense",
            "unix:/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        let e = parse_url("ftp://x/").expect_err("scheme");
        assert_eq!(
            e.message,
            "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: http, https."
        );
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
        ] {
            assert!(!is_public_ip(ip(private)), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public_ip(ip(public)), "{public}");
        }
        let policy = TargetPolicy::default();
        assert!(policy.check("localhost", ip("127.0.0.1")).is_err());
        assert!(
            TargetPolicy {
                allow_private: true
            }
            .check("localhost", ip("127.0.0.1"))
            .is_ok()
        );
    }
}

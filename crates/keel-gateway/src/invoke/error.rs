//! What a failed gateway call answers, in the reference's two shapes: a Keel error as
//! `{"detail": {"error_code", "message"}}` with its code's status, or an upstream's failure
//! (or the gateway's own refusal) as `{"detail": <text or object>}` with its own status.

use serde_json::Value;

/// A gateway call that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// A Keel error (an unknown endpoint, a stored configuration that cannot be used).
    Keel(keel_core::Error),
    /// `{"detail": detail}` with `status`: a provider's error answer (its status, its message)
    /// or a refusal of the gateway's (bad payload 400, unreachable upstream 502, timeout 504).
    Http { status: u16, detail: Value },
}

impl CallError {
    pub fn http(status: u16, detail: impl Into<String>) -> Self {
        Self::Http {
            status,
            detail: Value::String(detail.into()),
        }
    }

    /// 400 with `detail`: a request the gateway will not send.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::http(400, detail)
    }

    /// The status of an upstream's answer, when this error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            Self::Keel(_) => None,
        }
    }
}

impl From<keel_core::Error> for CallError {
    fn from(e: keel_core::Error) -> Self {
        Self::Keel(e)
    }
}

/// As Python prints the reference's exceptions in its fallback message: `429: rate limited`.
impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keel(e) => f.write_str(&e.message),
            Self::Http {
                status,
                detail: Value::String(text),
            } => write!(f, "{status}: {text}"),
            Self::Http { status, detail } => write!(f, "{status}: {detail}"),
        }
    }
}

impl std::error::Error for CallError {}

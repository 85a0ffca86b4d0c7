//! The timestamp module's error type: what failed, in words an operator can act on.

/// Everything that can go wrong building, accepting or verifying an RFC 3161 timestamp.
#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    /// The operating system's random number generator failed (for the nonce).
    #[error("cannot get random bytes for the nonce: {0}")]
    Random(String),
    /// The input is larger than [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN).
    #[error("the timestamp is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// DER that does not decode as the named structure.
    #[error("malformed {structure}: {source}")]
    Malformed {
        /// The ASN.1 structure being decoded.
        structure: &'static str,
        /// The decoder's error.
        #[source]
        source: der::Error,
    },
    /// A structure that decodes but breaks RFC 3161 or RFC 5652.
    #[error("invalid {structure}: {reason}")]
    Invalid {
        /// The ASN.1 structure.
        structure: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The TSA answered with a status other than granted (0) or grantedWithMods (1).
    #[error(
        "the TSA did not grant the timestamp: {}",
        describe_rejection(.status, .text, .fail_info)
    )]
    Rejected {
        /// The `PKIStatus` value (2 rejection, 3 waiting, 4 revocationWarning,
        /// 5 revocationNotification).
        status: u32,
        /// The `statusString` texts, joined with "; " (empty if absent).
        text: String,
        /// The names of the `failInfo` bits set (badAlg, badRequest, ...).
        fail_info: Vec<&'static str>,
    },
    /// An algorithm (digest, signature, key type or curve) this module does not support.
    #[error("unsupported {kind}: {oid}")]
    Unsupported {
        /// What kind of algorithm.
        kind: &'static str,
        /// Its OID (dotted).
        oid: String,
    },
    /// The `TSTInfo` message imprint is not the SHA-256 digest of the message (for `accept`: of
    /// the request's message).
    #[error("the timestamp is not for this message: its message imprint differs")]
    ImprintMismatch,
    /// The `TSTInfo` nonce is missing or differs from the request's.
    #[error("the timestamp's nonce does not match the request's")]
    NonceMismatch,
    /// The signer's message-digest attribute is not the digest of the `TSTInfo`.
    #[error("the signed message-digest attribute does not match the TSTInfo")]
    ContentDigestMismatch,
    /// No certificate in the token (or among the anchors) matches the signer identifier.
    #[error("the TSA's certificate is not in the timestamp token")]
    SignerCertificateNotFound,
    /// A signature that does not verify.
    #[error("the signature {0} does not verify")]
    BadSignature(&'static str),
    /// A certificate that fails a check (validity, key purpose, CA constraints, extensions).
    #[error("certificate {subject:?}: {reason}")]
    Certificate {
        /// The certificate's subject, RFC 4514 style.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TSA's certificate does not chain to a trust anchor.
    #[error("the TSA's certificate {subject:?} does not chain to a trust anchor: {reason}")]
    Untrusted {
        /// The subject of the last certificate reached.
        subject: String,
        /// Why the chain stops there.
        reason: &'static str,
    },
    /// A trust-anchor bundle that cannot be used.
    #[error("trust anchors: {0}")]
    Anchors(String),
    /// The input would take more work than the bounds allow.
    #[error("the timestamp exceeds a limit: {0}")]
    Limit(&'static str),
}

/// The text of a [`TimestampError::Rejected`]: status number and name, texts, failure bits.
fn describe_rejection(status: &u32, text: &str, fail_info: &[&str]) -> String {
    let fail_info = if fail_info.is_empty() {
        "none".to_owned()
    } else {
        fail_info.join(", ")
    };
    format!(
        "status {status} ({}), status text {text:?}, failure info: {fail_info}",
        status_name(*status)
    )
}

/// The RFC 3161 name of a `PKIStatus` value.
fn status_name(status: u32) -> &'static str {
    match status {
        0 => "granted",
        1 => "grantedWithMods",
        2 => "rejection",
        3 => "waiting",
        4 => "revocationWarning",
        5 => "revocationNotification",
        _ => "unknown",
    }
}

impl TimestampError {
    /// A `map_err` adapter: a `der` error while decoding `structure`.
    pub(super) fn malformed(structure: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Malformed { structure, source }
    }

    /// An [`TimestampError::Invalid`].
    pub(super) fn invalid(structure: &'static str, reason: &'static str) -> Self {
        Self::Invalid { structure, reason }
    }
}

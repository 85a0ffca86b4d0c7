//! RFC 3161 timestamps for checkpoints: the request to a Timestamp Authority (TSA), the check of
//! its reply, and offline verification of a stored reply against trusted CA certificates.
//!
//! Keel asks a TSA to timestamp the exact bytes of each signed checkpoint note. The flow is:
//!
//! 1. [`TimestampRequest::new`] builds a `TimeStampReq` (SHA-256 imprint of the note, a random
//!    64-bit nonce, `certReq` TRUE); its [`der`](TimestampRequest::der) is POSTed to the TSA as
//!    `application/timestamp-query` (the HTTP part lives outside this crate).
//! 2. [`TimestampRequest::accept`] parses the `application/timestamp-reply`: the status must be
//!    granted, and the token's `TSTInfo` must carry this request's imprint and nonce. It does not
//!    establish trust in the TSA: that is [`verify`]'s job.
//! 3. The [`TimestampToken`] keeps the whole `TimeStampResp` DER exactly as received. That is
//!    what gets stored (a `.tsr` file), so that `openssl ts -verify -in <file> -data <note>
//!    -CAfile <ca.pem>` checks the stored file as is.
//! 4. [`verify`] checks a stored reply (or a bare token, the CMS `ContentInfo`) offline against
//!    [`TrustAnchors`]: imprint, CMS signed attributes, the TSA's signature, its certificate
//!    (timeStamping key purpose) and its chain to an anchor, all valid at the token's time.
//!
//! The RFC 3161 structures and the few CMS (RFC 5652) ones are decoded here with `der`, keeping
//! the exact bytes that signatures and digests cover (the private `cms` module says why);
//! certificates are decoded with `x509-cert`; signatures are RSA PKCS#1 v1.5, ECDSA P-256 and
//! P-384, and Ed25519.
//! Every input is untrusted: parsing returns errors, never panics, and sizes, certificate counts,
//! chain length and signature checks are bounded (see the `MAX_*` constants).

mod certs;
mod chain;
mod cms;
mod crypto;
mod error;
mod gen_time;
mod oids;
mod request;
mod rfc3161;
mod signed_attrs;
mod token;
mod verify;

#[cfg(test)]
mod tests;

pub use certs::TrustAnchors;
pub use error::TimestampError;
pub use request::{TimestampRequest, TimestampToken};
pub use verify::{TimestampInfo, verify};

/// The largest reply or token accepted, in bytes (a reply with a three-certificate RSA chain is
/// about 6 KiB).
pub const MAX_TOKEN_LEN: usize = 256 * 1024;

/// The most certificates a token may carry.
pub const MAX_CERTIFICATES: usize = 16;

/// The most certificates in a chain from the TSA's certificate to a trust anchor, both included.
pub const MAX_CHAIN_LEN: usize = 8;

/// The most signature verifications one [`verify`] call performs (the token's signature and the
/// certificate signatures tried while building the chain).
pub const MAX_SIGNATURE_CHECKS: usize = 24;

/// The most signed attributes a token's signer may carry.
pub const MAX_SIGNED_ATTRIBUTES: usize = 32;

//! The audit log's evidence formats, with no I/O beyond reading and writing an export bundle.
//!
//! Keel's audit log is a transparency log (RFC 9162) whose leaves are audit entries encoded as
//! RFC 8785 canonical JSON. This crate holds the pure parts of it:
//!
//! - [`hash`]: the RFC 9162 leaf and node hashes;
//! - [`tree`]: Merkle tree math over stored perfect subtrees (frontier, proofs, verification);
//! - [`note`]: C2SP signed notes with Ed25519 keys;
//! - [`checkpoint`]: C2SP `tlog-checkpoint` note texts;
//! - [`canonical`]: RFC 8785 canonical JSON, and a fast check that bytes are canonical;
//! - [`tile`]: C2SP `tlog-tiles` hash tiles of a tree, built as it grows;
//! - [`timestamp`]: RFC 3161 timestamps of checkpoints: requests, replies, offline verification;
//! - [`bundle`]: the offline export bundle, its writer and its verifier.
//!
//! Everything fails with the one [`Error`] type, except [`timestamp`], whose
//! [`TimestampError`] says which check of a token failed.

mod error;

pub mod bundle;
pub mod canonical;
pub mod checkpoint;
pub mod hash;
pub mod note;
pub mod tile;
pub mod timestamp;
pub mod tree;

pub use error::Error;
pub use timestamp::{
    TimestampError, TimestampInfo, TimestampRequest, TimestampToken, TrustAnchors,
};

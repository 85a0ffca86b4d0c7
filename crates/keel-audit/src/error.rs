//! The crate's one error type, shared by every module so callers match a single enum.

use std::path::PathBuf;

use crate::tree::NodeId;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A leaf index or tree size outside what the operation accepts (an index at or past the
    /// tree size, a consistency proof from the empty tree or to a smaller tree).
    #[error("invalid tree range: an index or size is out of bounds for this operation")]
    InvalidRange,
    /// A proof needs a perfect subtree hash that the node lookup did not return.
    #[error("the tree node {0} is missing")]
    MissingNode(NodeId),
    /// A proof did not verify.
    #[error("the proof does not verify: {0}")]
    InvalidProof(&'static str),
    /// Frontier hashes that do not match the frontier of the given size.
    #[error("the frontier of a tree of size {size} has {expected} hashes, not {got}")]
    InvalidFrontier {
        /// The tree size.
        size: u64,
        /// The number of perfect subtrees in the frontier of `size`.
        expected: usize,
        /// The number of hashes given.
        got: usize,
    },
    /// A note key name that is empty or has a space, a `+` or a control character.
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidKeyName(String),
    /// A signing key that cannot be read (never includes key material).
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
    /// The operating system's random number generator failed.
    #[error("cannot get random bytes: {0}")]
    Random(String),
    /// A note verifier key (`vkey`) that cannot be parsed.
    #[error("invalid verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// A note (or a text to sign) that breaks the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A note carries a signature by the verifier's key that does not verify.
    #[error("the note has a signature by the key {0} that does not verify")]
    InvalidSignature(String),
    /// A well-formed note that has no signature by the verifier's key.
    #[error("the note is not signed by the key {0}")]
    UnverifiedNote(String),
    /// A checkpoint text that breaks the tlog-checkpoint format.
    #[error("invalid checkpoint: {0}")]
    InvalidCheckpoint(&'static str),
    /// JSON that cannot be canonicalized.
    #[error("cannot canonicalize JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An I/O error on a bundle file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A bundle writer used wrongly (a non-empty directory, an entry with a newline...).
    #[error("bundle: {0}")]
    Bundle(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

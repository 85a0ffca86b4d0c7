//! The offline export bundle: a directory anyone can verify without Keel.
//!
//! ```text
//! entries.jsonl                  leaf p + i is line i: its exact bytes, then "\n"
//! pruned                         optional: p, the number of leading entries pruned by
//!                                retention (decimal, then "\n"); absent: p = 0
//! checkpoints/<size>             a signed checkpoint note; <size> is 20 zero-padded digits
//! timestamps/<size>.tsr          optional RFC 3161 TimeStampResp (DER) for that checkpoint
//! key.vkey                       the log's note verifier key, one line
//! tsa-ca.pem                     optional: the CA certificates the timestamps chain to
//! tile/<L>/<N>[.p/<W>]           the tree's C2SP tlog-tiles hash tiles (see [`crate::tile`])
//! ```
//!
//! [`BundleWriter`] writes one; [`verify`] rebuilds the tree from the entries in one pass and
//! compares its root with every checkpoint, reporting what it found in a [`Report`].
//!
//! The tiles let [`verify`] say exactly which entry was altered: a signed root only says that
//! something in the range it covers changed, but once the level-0 tiles (the leaf hashes)
//! rebuild a signed root they are the signed tree's leaves, and the first entry whose leaf hash
//! differs from its tile's is where the entries were altered, removed, reordered or inserted.
//! They are also what any tlog-tiles client reads. Bundles without `tile/` (written before the
//! tiles) still verify, with alterations located between two checkpoints.
//!
//! Entries pruned by retention are absent from `entries.jsonl`, but their leaf hashes are in the
//! level-0 tiles: the verifier takes them from there, so every checkpoint, also those older
//! than the retention, is still checked against the whole tree.

mod tile_sink;
mod verify;
mod writer;

pub use verify::{Trust, verify, verify_with, verify_with_key};
pub use writer::BundleWriter;

/// The entries file.
pub(crate) const ENTRIES_FILE: &str = "entries.jsonl";
/// The directory of checkpoint notes.
pub(crate) const CHECKPOINTS_DIR: &str = "checkpoints";
/// The directory of timestamp responses.
pub(crate) const TIMESTAMPS_DIR: &str = "timestamps";
/// The verifier key file.
pub(crate) const KEY_FILE: &str = "key.vkey";
/// The action of the entry that records a pruning pass: a bundle with pruned entries must
/// carry a signed one that covers them (see [`ProblemKind::PruneUnrecorded`]).
pub const PRUNE_ACTION: &str = "audit.prune";
/// The shortest retention a pruning may have used, in days (six months).
pub const MIN_RETENTION_DAYS: u64 = 184;

/// The timestamp authority's CA certificates (PEM).
pub(crate) const TSA_CA_FILE: &str = "tsa-ca.pem";
/// The file with the number of leading entries pruned.
pub(crate) const PRUNED_FILE: &str = "pruned";
/// The extension of timestamp response files.
pub(crate) const TIMESTAMP_EXT: &str = ".tsr";

/// The file name of the checkpoint of `size`: 20 zero-padded decimal digits, so names sort by
/// size.
pub(crate) fn checkpoint_name(size: u64) -> String {
    format!("{size:020}")
}

/// The size a checkpoint file name stands for, if it is one [`checkpoint_name`] writes.
pub(crate) fn parse_checkpoint_name(name: &str) -> Option<u64> {
    if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The number of entries (lines) in `entries.jsonl`.
    pub entries: u64,
    /// The number of leading entries pruned by retention (whose leaf hashes come from the
    /// tiles); `entries.jsonl`'s first line is the leaf of this index.
    pub pruned: u64,
    /// The number of files in `checkpoints/`.
    pub checkpoints: u64,
    /// The number of timestamp responses present for those checkpoints.
    pub timestamps_present: u64,
    /// Those verified against the timestamp authority's CA certificates (none are checked
    /// without them).
    pub timestamps_verified: u64,
    /// The largest checkpoint size whose root the entries were verified to match (0 if none).
    pub verified_size: u64,
    /// The first problem found, if any.
    pub problem: Option<Problem>,
}

impl Report {
    /// Whether the bundle verified without any problem.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// A problem found in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: an entry index, or a checkpoint's size (see [`ProblemKind`]).
    pub index: u64,
    /// What.
    pub kind: ProblemKind,
    /// A sentence for people.
    pub detail: String,
}

/// The kinds of problem [`verify`] reports, with what their [`Problem::index`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The entries do not match a signed checkpoint. With the bundle's hash tiles verified by a
    /// checkpoint, `index` is the first entry that is not the signed tree's (it was altered, or
    /// entries before it were removed, inserted or moved). Without usable tiles, checkpoints
    /// alone cannot say which entry: `index` is the size of the last checkpoint verified before
    /// the mismatch, and the alteration is between it and the mismatching checkpoint's size (the
    /// detail says why the tiles could not tell). Also an `entries.jsonl` whose last line lacks
    /// its newline (`index` is that line).
    EntryAltered,
    /// A checkpoint covers more entries than the bundle has; `index` is the number of entries.
    EntryMissing,
    /// Entry `index` is not RFC 8785 canonical JSON (often a byte flipped in it).
    EntryNotCanonical,
    /// The checkpoint of size `index` is not signed by the bundle's key, or its origin is not
    /// the key's name.
    BadSignature,
    /// The checkpoint file for size `index` cannot be parsed, or its file name is not its size
    /// (`index` is the size in the file name if it is a valid one, else the checkpoint's own).
    BadCheckpoint,
    /// The checkpoint of size `index` does not match entries that a later checkpoint verifies:
    /// the log signed two inconsistent trees.
    Inconsistent,
    /// Entries from `index` (the largest verified checkpoint's size) on are not covered by any
    /// signed checkpoint.
    Unsigned,
    /// The entries verify, but the hash tiles (`tile/`) do not hold the tree they verify:
    /// `index` is the first leaf whose tile hash is wrong or missing (for a tile of level
    /// `L ≥ 1`, the first leaf of the subtree whose hash is). Reported only for bundles that
    /// have a `tile/` directory, and only within the last checkpoint's size.
    BadTile,
    /// The bundle says its first `index` entries were pruned, but none of its signed entries
    /// records a pruning that far (an `audit.prune` entry of Keel itself whose
    /// `detail.pruned_below` is at least `index`, with a retention of at least
    /// [`MIN_RETENTION_DAYS`]): entries were removed, not pruned.
    PruneUnrecorded,
    /// The RFC 3161 timestamp of the checkpoint of size `index` does not verify: not a granted
    /// reply, not over that checkpoint's exact bytes, or not signed by a timestamp authority
    /// chaining to the trusted CA certificates.
    BadTimestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_size() {
        assert_eq!(checkpoint_name(0), "00000000000000000000");
        assert_eq!(checkpoint_name(u64::MAX), "18446744073709551615");
        assert!(checkpoint_name(99) < checkpoint_name(100));
        assert_eq!(parse_checkpoint_name("00000000000000000100"), Some(100));
        assert_eq!(parse_checkpoint_name("0000000000000000100"), None);
        assert_eq!(parse_checkpoint_name("99999999999999999999"), None);
        assert_eq!(parse_checkpoint_name("0000000000000000010a"), None);
        assert_eq!(parse_checkpoint_name("+0000000000000000100"), None);
    }
}

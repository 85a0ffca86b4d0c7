//! What the audit log needs from a metadata store.

use keel_audit::hash::Hash;
use keel_audit::tree::NodeId;

use super::record::{AuditRow, Outcome};
use crate::entities::Page;
use crate::error::Result;

/// The tree's head: how many entries it holds and their Merkle root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// What one sequencing round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequenced {
    /// Entries given a leaf index in this round.
    pub appended: u64,
    /// The head after the round.
    pub head: TreeHead,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    /// The signed note (C2SP tlog-checkpoint body).
    pub note: String,
    pub created_ms: i64,
    /// The RFC 3161 TimeStampResp of the checkpoint's note, when a timestamp authority is set.
    pub timestamp: Option<Vec<u8>>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEntry {
    /// Queue order: the order entries committed in (with gaps).
    pub seq: i64,
    /// Its leaf index once sequenced.
    pub leaf_index: Option<u64>,
    pub time_ms: i64,
    /// The canonical bytes.
    pub entry: Vec<u8>,
}

/// A search over entries (every given criterion must match), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive lower bound, milliseconds since the epoch.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound.
    pub until_ms: Option<i64>,
    /// Only entries with a smaller `seq` (the page token).
    pub before_seq: Option<i64>,
    pub max_results: usize,
}

/// Storage of the audit log. Entries of requests are inserted by the stores' own write paths
/// (see [`super::scope`]); this trait covers the rest.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Inserts entries in a transaction of their own (denials, failed requests).
    async fn append_entries(&self, rows: Vec<AuditRow>) -> Result<()>;

    /// Gives up to `max` committed, unsequenced entries the next leaf indices (in queue order),
    /// stores the tree nodes they complete and the new head — all in one transaction, one
    /// sequencer at a time across every process sharing the database.
    async fn sequence(&self, max: usize) -> Result<Sequenced>;

    async fn tree_head(&self) -> Result<TreeHead>;

    /// The perfect subtrees among `ids` that the tree holds (absent ones are left out), stored
    /// or, for low levels, computed from their leaves.
    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>>;

    /// Records the log's verifier key the first time; returns the key on record (which differs
    /// from `vkey` when another key signed this log first).
    async fn register_log_key(&self, vkey: &str) -> Result<String>;

    /// Stores a checkpoint unless one of that size exists; says whether it stored it.
    async fn add_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool>;

    /// Attaches a timestamp token to the checkpoint of `tree_size`, unless it has one.
    async fn set_checkpoint_timestamp(&self, tree_size: u64, token: &[u8]) -> Result<()>;

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// Checkpoints with a size of at least `from_size`, smallest first.
    async fn checkpoints(&self, from_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>>;

    /// Sequenced entries from leaf index `start`, in leaf order.
    async fn entries(&self, start: u64, limit: usize) -> Result<Vec<LoggedEntry>>;

    /// Entries matching `query`, newest first, with the next page's token.
    async fn search_entries(&self, query: &AuditQuery) -> Result<Page<LoggedEntry>>;

    /// The first leaf index in `[from, to)` whose entry was recorded at or after `cutoff_ms`
    /// (`to` if none): the end of the unbroken run of expired entries from `from`. Reads only
    /// that run, in leaf order.
    async fn first_unexpired(&self, from: u64, to: u64, cutoff_ms: i64) -> Result<u64>;

    /// Deletes the entries of leaf index below `below` and records `below` as the pruned mark
    /// (if beyond the current one), inserting `record` (the entry of the pruning) in the same
    /// transaction. One transaction: callers keep the range small. Leaf hashes (level-0
    /// nodes) are kept, so proofs and checkpoints stay verifiable. Returns the number of
    /// entries deleted.
    async fn prune(&self, below: u64, record: Option<AuditRow>) -> Result<u64>;

    /// The pruned mark: entries of a smaller leaf index were deleted by retention.
    async fn pruned_below(&self) -> Result<u64>;
}

//! The audit log service: appends entries recorded outside a write, sequences committed entries
//! into the Merkle tree, signs checkpoints, and answers proofs, pages and searches.

use std::sync::Arc;
use std::time::Duration;

use keel_audit::checkpoint::Checkpoint;
use keel_audit::hash::Hash;
use keel_audit::note::NoteSigner;
use keel_audit::tree::{self, NodeId};

use super::record::AuditRecord;
use super::store::{AuditQuery, AuditStore, LoggedEntry, StoredCheckpoint, TreeHead};
use crate::clock::{Clock, SystemClock};
use crate::entities::Page;
use crate::error::{Error, Result};

/// Most entries one sequencing transaction appends: small enough that a round holds the
/// SQLite writer (which every write waits for) for a millisecond or two, not tens.
const SEQUENCE_BATCH: usize = 512;
/// Most entries or checkpoints one page returns.
pub const MAX_PAGE: usize = 1000;

/// How often checkpoints are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    /// A checkpoint is signed when the last one is this old and the tree has grown...
    pub checkpoint_interval: Duration,
    /// ...or as soon as this many entries were appended since the last one.
    pub checkpoint_entries: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_interval: Duration::from_secs(60),
            checkpoint_entries: 10_000,
        }
    }
}

/// The audit log of one deployment.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn AuditStore>,
    signer: NoteSigner,
    settings: AuditSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.inner.signer.name())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// The log over `store`, signed by `signer` (whose name is the checkpoints' origin). Refuses
    /// a key other than the one this database's log was first signed with.
    pub async fn open(
        store: Arc<dyn AuditStore>,
        signer: NoteSigner,
        settings: AuditSettings,
    ) -> Result<Self> {
        let vkey = signer.verifier_key();
        let on_record = store.register_log_key(&vkey).await?;
        if on_record != vkey {
            return Err(Error::invalid(format!(
                "this database's audit log is signed by the key {on_record}, but the configured \
                 audit signing key is {vkey}: configure the same key (and origin) on every \
                 server sharing the database"
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                signer,
                settings,
                clock: Arc::new(SystemClock),
            }),
        })
    }

    /// The note verifier key of the log (C2SP `vkey`).
    pub fn verifier_key(&self) -> String {
        self.inner.signer.verifier_key()
    }

    /// The checkpoints' origin line.
    pub fn origin(&self) -> &str {
        self.inner.signer.name()
    }

    /// Appends entries in a transaction of their own (those no write carried).
    pub async fn append(&self, records: &[AuditRecord]) -> Result<()> {
        let rows = records
            .iter()
            .map(AuditRecord::to_row)
            .collect::<Result<Vec<_>>>()?;
        self.inner.store.append_entries(rows).await
    }

    /// Sequences every committed entry; returns the head.
    pub async fn sequence(&self) -> Result<TreeHead> {
        loop {
            let round = self.inner.store.sequence(SEQUENCE_BATCH).await?;
            if round.appended < SEQUENCE_BATCH as u64 {
                return Ok(round.head);
            }
        }
    }

    /// Signs a checkpoint of the current head when the settings say one is due.
    pub async fn checkpoint_if_due(&self) -> Result<Option<StoredCheckpoint>> {
        let head = self.inner.store.tree_head().await?;
        let latest = self.inner.store.latest_checkpoint().await?;
        let due = match &latest {
            None => head.size > 0,
            Some(last) => {
                let grown = head.size.saturating_sub(last.tree_size);
                let age_ms = self.inner.clock.now_millis() - last.created_ms;
                let interval_ms =
                    i64::try_from(self.inner.settings.checkpoint_interval.as_millis())
                        .unwrap_or(i64::MAX);
                grown >= self.inner.settings.checkpoint_entries
                    || (grown > 0 && age_ms >= interval_ms)
            }
        };
        if !due {
            return Ok(None);
        }
        self.sign(head).await.map(Some)
    }

    /// Sequences everything committed so far and signs a checkpoint of it (or returns the
    /// latest one when it already covers the whole tree).
    pub async fn checkpoint_now(&self) -> Result<StoredCheckpoint> {
        let head = self.sequence().await?;
        if let Some(latest) = self.inner.store.latest_checkpoint().await? {
            if latest.tree_size == head.size {
                return Ok(latest);
            }
        }
        self.sign(head).await
    }

    async fn sign(&self, head: TreeHead) -> Result<StoredCheckpoint> {
        let text = Checkpoint {
            origin: self.origin().to_owned(),
            size: head.size,
            root: head.root,
            extensions: Vec::new(),
        }
        .to_text();
        let note = self
            .inner
            .signer
            .sign(&text)
            .map_err(|e| Error::internal(format!("cannot sign a checkpoint: {e}")))?;
        let checkpoint = StoredCheckpoint {
            tree_size: head.size,
            root: head.root,
            note,
            created_ms: self.inner.clock.now_millis(),
            timestamp: None,
        };
        self.inner.store.add_checkpoint(&checkpoint).await?;
        Ok(checkpoint)
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.inner.store.latest_checkpoint().await
    }

    /// Checkpoints of at least `from_size`, smallest first.
    pub async fn checkpoints(&self, from_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        self.inner
            .store
            .checkpoints(from_size, limit.clamp(1, MAX_PAGE))
            .await
    }

    pub async fn tree_head(&self) -> Result<TreeHead> {
        self.inner.store.tree_head().await
    }

    /// The inclusion proof of leaf `index` in the tree of `tree_size` entries (RFC 9162 order).
    pub async fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        self.check_size(tree_size).await?;
        if index >= tree_size {
            return Err(Error::invalid(format!(
                "Leaf index {index} is not in a tree of {tree_size} entries."
            )));
        }
        let plan = tree::inclusion_plan(index, tree_size).map_err(proof_error)?;
        let nodes = self.fetch(&plan).await?;
        tree::inclusion_proof(index, tree_size, |id| lookup(&nodes, id)).map_err(proof_error)
    }

    /// The consistency proof between the trees of `first` and `second` entries.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>> {
        self.check_size(second).await?;
        if first == 0 || first > second {
            return Err(Error::invalid(format!(
                "No consistency proof from a tree of {first} entries to one of {second}: the \
                 first size must be between 1 and the second."
            )));
        }
        let plan = tree::consistency_plan(first, second).map_err(proof_error)?;
        let nodes = self.fetch(&plan).await?;
        tree::consistency_proof(first, second, |id| lookup(&nodes, id)).map_err(proof_error)
    }

    /// Sequenced entries from leaf index `start`.
    pub async fn entries(&self, start: u64, limit: usize) -> Result<Vec<LoggedEntry>> {
        self.inner
            .store
            .entries(start, limit.clamp(1, MAX_PAGE))
            .await
    }

    /// Entries matching `query`, newest first (sequenced or not yet).
    pub async fn search(&self, query: &AuditQuery) -> Result<Page<LoggedEntry>> {
        let mut query = query.clone();
        query.max_results = query.max_results.clamp(1, MAX_PAGE);
        self.inner.store.search_entries(&query).await
    }

    async fn check_size(&self, tree_size: u64) -> Result<()> {
        let head = self.inner.store.tree_head().await?;
        if tree_size == 0 || tree_size > head.size {
            return Err(Error::invalid(format!(
                "Tree size {tree_size} is not available: the log holds {} entries.",
                head.size
            )));
        }
        Ok(())
    }

    async fn fetch(&self, plan: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
        let mut nodes = self.inner.store.nodes(plan).await?;
        nodes.sort_unstable_by_key(|(id, _)| *id);
        Ok(nodes)
    }
}

fn lookup(nodes: &[(NodeId, Hash)], id: NodeId) -> Option<Hash> {
    nodes
        .binary_search_by_key(&id, |(n, _)| *n)
        .ok()
        .map(|i| nodes[i].1)
}

fn proof_error(e: keel_audit::Error) -> Error {
    Error::internal(format!("cannot build the proof: {e}"))
}

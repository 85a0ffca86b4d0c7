//! The audit log service: appends entries recorded outside a write, sequences committed entries
//! into the Merkle tree, signs checkpoints, and answers proofs, pages and searches.

use std::sync::Arc;
use std::time::Duration;

use keel_audit::checkpoint::Checkpoint;
use keel_audit::hash::Hash;
use keel_audit::note::NoteSigner;
use keel_audit::tree::{self, NodeId};

use super::outlets::Outlets;
use super::record::{Actor, AuditRecord, EventKind, Outcome, Resource};
use super::store::{AuditQuery, AuditStore, LoggedEntry, StoredCheckpoint, TreeHead};
use crate::clock::{Clock, SystemClock};
use crate::entities::Page;
use crate::error::{Error, Result};

/// Most entries one sequencing transaction appends: small enough that a round holds the
/// SQLite writer (which every write waits for) for a millisecond or two, not tens.
const SEQUENCE_BATCH: usize = 512;
/// Most entries or checkpoints one page returns.
pub const MAX_PAGE: usize = 1000;
/// Most entries one pruning transaction deletes (it holds the SQLite writer briefly).
const PRUNE_BATCH: u64 = 2000;
/// Most entries one pruning pass deletes (a pass runs in the sequencer's loop).
pub const PRUNE_PASS: u64 = 100 * PRUNE_BATCH;
/// The action of the entry that records a pruning pass.
pub use keel_audit::bundle::PRUNE_ACTION;
/// The shortest retention accepted: six months (the EU AI Act's minimum for automatic logs),
/// counted as 184 days, the longest six calendar months.
pub const MIN_RETENTION: Duration =
    Duration::from_secs(keel_audit::bundle::MIN_RETENTION_DAYS * 24 * 3600);

/// How often checkpoints are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    /// A checkpoint is signed when the last one is this old and the tree has grown...
    pub checkpoint_interval: Duration,
    /// ...or as soon as this many entries were appended since the last one.
    pub checkpoint_entries: u64,
    /// Entries older than this are pruned (never, when unset). At least [`MIN_RETENTION`].
    pub retention: Option<Duration>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_interval: Duration::from_secs(60),
            checkpoint_entries: 10_000,
            retention: None,
        }
    }
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Entries of a leaf index below this are gone.
    pub below: u64,
    /// Entries deleted by this pass.
    pub removed: u64,
    /// Whether expired entries remain for another pass.
    pub more: bool,
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
    outlets: Outlets,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.inner.signer.name())
            .field("settings", &self.inner.settings)
            .field("outlets", &self.inner.outlets)
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
        Self::open_with(store, signer, settings, Outlets::default()).await
    }

    /// [`AuditLog::open`], timestamping and publishing checkpoints through `outlets`.
    pub async fn open_with(
        store: Arc<dyn AuditStore>,
        signer: NoteSigner,
        settings: AuditSettings,
        outlets: Outlets,
    ) -> Result<Self> {
        if let Some(retention) = settings.retention {
            if retention < MIN_RETENTION {
                return Err(Error::invalid(format!(
                    "an audit retention of {} days is too short: entries must be kept at least \
                     {} days (six months)",
                    retention.as_secs() / 86_400,
                    MIN_RETENTION.as_secs() / 86_400
                )));
            }
        }
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
                outlets,
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

    /// Whether checkpoints go anywhere besides the database.
    pub fn has_outlets(&self) -> bool {
        !self.inner.outlets.is_empty()
    }

    /// Gives the latest checkpoint to the outlets that have not had it: a timestamp from the
    /// timestamp authority (stored with it), then a copy to every sink. An outlet that fails is
    /// retried after a while (see [`super::outlets::RETRY_AFTER`]); its error is returned
    /// after the others were tried.
    pub async fn deliver(&self) -> Result<()> {
        let outlets = &self.inner.outlets;
        if outlets.is_empty() {
            return Ok(());
        }
        let Some(mut checkpoint) = self.inner.store.latest_checkpoint().await? else {
            return Ok(());
        };
        let size = checkpoint.tree_size;
        let mut failure = None;
        if let Some(tsa) = &outlets.timestamper {
            if checkpoint.timestamp.is_some() {
                tsa.record(size, true);
            } else if tsa.due(size) {
                let stamped = match tsa.target.timestamp(checkpoint.note.as_bytes()).await {
                    Ok(token) => self
                        .inner
                        .store
                        .set_checkpoint_timestamp(size, &token)
                        .await
                        .map(|()| token),
                    Err(e) => Err(e),
                };
                tsa.record(size, stamped.is_ok());
                match stamped {
                    Ok(token) => checkpoint.timestamp = Some(token),
                    Err(e) => {
                        failure = Some(Error::unavailable(format!(
                            "cannot timestamp the checkpoint of size {size}: {e}"
                        )));
                    }
                }
            }
        }
        for sink in &outlets.sinks {
            if !sink.due(size) {
                continue;
            }
            let published = sink.target.publish(self.origin(), &checkpoint).await;
            sink.record(size, published.is_ok());
            if let Err(e) = published {
                failure = Some(Error::unavailable(format!(
                    "cannot publish the checkpoint of size {size} to {}: {e}",
                    sink.target.describe()
                )));
            }
        }
        failure.map_or(Ok(()), Err)
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

    /// The pruned mark: entries of a smaller leaf index were removed by retention (their leaf
    /// hashes remain, see [`AuditLog::leaf_hashes`]).
    pub async fn pruned_below(&self) -> Result<u64> {
        self.inner.store.pruned_below().await
    }

    /// The leaf hashes of leaves `[start, start + count)` (all within the tree; at most
    /// [`MAX_PAGE`]).
    pub async fn leaf_hashes(&self, start: u64, count: u64) -> Result<Vec<Hash>> {
        if count > MAX_PAGE as u64 {
            return Err(Error::invalid(format!(
                "at most {MAX_PAGE} leaf hashes at a time"
            )));
        }
        let ids: Vec<NodeId> = (start..start.saturating_add(count))
            .map(|index| NodeId { level: 0, index })
            .collect();
        let nodes = self.fetch(&ids).await?;
        ids.iter()
            .map(|&id| {
                lookup(&nodes, id).ok_or_else(|| {
                    Error::internal(format!(
                        "the audit tree misses the leaf hash of {}",
                        id.index
                    ))
                })
            })
            .collect()
    }

    /// Removes the entries older than the retention, if one is set: the unbroken run of
    /// expired entries at the start of the log, only entries a signed checkpoint covers, in
    /// small transactions, at most [`PRUNE_PASS`] entries per call (`more` says whether expired
    /// entries remain). Their leaf hashes stay, so every checkpoint and the proofs of the
    /// remaining entries still verify.
    ///
    /// The pass is recorded in the log (`audit.prune`, with the leaf index it prunes below) in
    /// the transaction of its first deletion, so no entry is ever missing without a signed
    /// record of the pruning that removed it — which is what the bundle verifier requires.
    pub async fn prune_expired(&self) -> Result<Option<Pruned>> {
        let Some(retention) = self.inner.settings.retention else {
            return Ok(None);
        };
        let now = self.inner.clock.now_millis();
        let cutoff = now - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let Some(signed) = self.inner.store.latest_checkpoint().await? else {
            return Ok(None);
        };
        let from = self.inner.store.pruned_below().await?;
        let limit = signed.tree_size.min(from.saturating_add(PRUNE_PASS));
        let below = self
            .inner
            .store
            .first_unexpired(from, limit, cutoff)
            .await?;
        if below <= from {
            return Ok(None);
        }
        let mut record = AuditRecord::new(
            EventKind::System,
            now,
            Actor::keel(),
            PRUNE_ACTION,
            Resource {
                id: None,
                kind: "Server".to_owned(),
            },
            Outcome::Success,
        );
        record.detail = Some(serde_json::json!({
            "pruned_below": below,
            "retention_days": retention.as_secs() / 86_400,
            "cutoff": crate::clock::rfc3339_millis(cutoff),
        }));
        let mut record = Some(record.to_row()?);
        let mut mark = from;
        while mark < below {
            mark = (mark + PRUNE_BATCH).min(below);
            self.inner.store.prune(mark, record.take()).await?;
        }
        Ok(Some(Pruned {
            below,
            removed: below - from,
            more: below == limit && limit < signed.tree_size,
        }))
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

//! The audit log: every change and every denial as an entry of a transparency log (RFC 9162)
//! whose signed checkpoints let anyone check, offline, that no entry was altered or removed.
//!
//! Entries are written with the change they record ([`scope`]), then given their place in the
//! Merkle tree by the sequencer ([`AuditLog::sequence`]), which appends them in order and keeps
//! the tree's perfect subtrees, so proofs need a logarithmic number of stored hashes. Checkpoints
//! are C2SP `tlog-checkpoint`s in C2SP signed notes ([`keel_audit`] holds the formats).

mod log;
pub mod outlets;
pub mod record;
pub mod scope;
mod store;
mod worker;

pub use log::{AuditLog, AuditSettings, MIN_RETENTION, PRUNE_ACTION, PRUNE_PASS, Pruned};
pub use outlets::{CheckpointSink, Outlets, Timestamper};
pub use record::{
    Actor, AuditRecord, AuditRow, ENTRY_VERSION, EventKind, Outcome, RequestFacts, Resource,
};
pub use store::{AuditQuery, AuditStore, LoggedEntry, Sequenced, StoredCheckpoint, TreeHead};
pub use worker::Sequencer;

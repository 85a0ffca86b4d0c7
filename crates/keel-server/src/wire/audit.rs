//! Wire types of the audit log API (`/api/3.0/keel/audit/...`). Hashes and leaf bytes are
//! standard base64, as transparency-log APIs write them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keel_core::audit::{LoggedEntry, StoredCheckpoint};
use serde::{Deserialize, Serialize};

use super::proto::opt_i64;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct InclusionIn {
    /// The entry's leaf index.
    #[serde(default, deserialize_with = "opt_i64")]
    pub leaf_index: Option<i64>,
    /// The tree size to prove inclusion in (default: the latest checkpoint's).
    #[serde(default, deserialize_with = "opt_i64")]
    pub tree_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ConsistencyIn {
    #[serde(default, deserialize_with = "opt_i64")]
    pub first: Option<i64>,
    /// Default: the latest checkpoint's size.
    #[serde(default, deserialize_with = "opt_i64")]
    pub second: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InclusionOut {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// RFC 9162 inclusion proof, base64 SHA-256 hashes.
    pub hashes: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConsistencyOut {
    pub first: u64,
    pub second: u64,
    /// RFC 9162 consistency proof, base64 SHA-256 hashes.
    pub hashes: Vec<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EntriesIn {
    /// The first leaf index (default 0).
    #[serde(default, deserialize_with = "opt_i64")]
    pub start: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SearchIn {
    /// The acting account's name.
    pub actor: Option<String>,
    /// e.g. `runs.update`.
    pub action: Option<String>,
    /// e.g. `Run`, `RegisteredModel`.
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// From this time (milliseconds since the epoch, inclusive).
    #[serde(default, deserialize_with = "opt_i64")]
    pub since: Option<i64>,
    /// Until this time (exclusive).
    #[serde(default, deserialize_with = "opt_i64")]
    pub until: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EntryOut {
    /// Its leaf index; absent until the sequencer has appended it (within a second).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    /// The entry.
    pub entry: serde_json::Value,
    /// The exact bytes of its leaf (RFC 8785 canonical JSON), base64.
    pub leaf: String,
}

impl From<LoggedEntry> for EntryOut {
    fn from(e: LoggedEntry) -> Self {
        Self {
            leaf_index: e.leaf_index,
            entry: serde_json::from_slice(&e.entry).unwrap_or(serde_json::Value::Null),
            leaf: STANDARD.encode(&e.entry),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EntriesOut {
    pub entries: Vec<EntryOut>,
    /// The leaf index to ask from for the next page, when there may be more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_start: Option<u64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchOut {
    pub entries: Vec<EntryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CheckpointsIn {
    /// The smallest tree size (default 0).
    #[serde(default, deserialize_with = "opt_i64")]
    pub from_size: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckpointOut {
    pub tree_size: u64,
    /// The root hash, base64.
    pub root_hash: String,
    /// The signed note (C2SP tlog-checkpoint).
    pub note: String,
    /// When it was signed, milliseconds since the epoch.
    pub created_at: i64,
    /// The RFC 3161 TimeStampResp of the note, base64, when a timestamp authority is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl From<StoredCheckpoint> for CheckpointOut {
    fn from(c: StoredCheckpoint) -> Self {
        Self {
            tree_size: c.tree_size,
            root_hash: STANDARD.encode(c.root),
            note: c.note,
            created_at: c.created_ms,
            timestamp: c.timestamp.map(|t| STANDARD.encode(t)),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckpointsOut {
    pub checkpoints: Vec<CheckpointOut>,
}

/// Base64 of each hash.
pub fn hashes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

//! Verifying an export bundle: checkpoints first, then one streaming pass over the entries that
//! rebuilds the tree's frontier and compares its root whenever it reaches a checkpoint's size,
//! with the bundle's level-0 hash tiles read alongside to locate an alteration exactly.
//!
//! Memory is `O(log n + checkpoints)` plus one tile per tile level; no proofs are needed, as
//! every checkpoint is compared with the tree rebuilt from the entries (and from the tiles).

mod checkpoints;
mod compare;
mod judge;
mod replay;
mod timestamps;
mod upper;

use std::fs;
use std::path::Path;

use self::checkpoints::read_checkpoints;
use self::timestamps::check_timestamps;
use super::{
    KEY_FILE, MIN_RETENTION_DAYS, PRUNE_ACTION, Problem, ProblemKind, Report, TSA_CA_FILE,
};
use crate::Error;
use crate::note::NoteVerifier;
use crate::timestamp::TrustAnchors;

/// What a bundle is verified against, instead of what it carries itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct Trust<'a> {
    /// The log's key (default: the bundle's `key.vkey`).
    pub key: Option<&'a NoteVerifier>,
    /// The timestamp authority's CA certificates (default: the bundle's `tsa-ca.pem`, if any;
    /// without either, timestamps are counted, not checked).
    pub tsa_ca: Option<&'a TrustAnchors>,
}

/// Verifies the bundle in `dir` against the key in its `key.vkey`.
///
/// Fails only on I/O errors and on a missing or unparseable `key.vkey`; everything wrong with
/// the entries, checkpoints or hash tiles is reported in the [`Report`]. The key comes from the bundle
/// itself, so this proves the bundle is consistent with *that* key: compare
/// `key.vkey` with the log's known key, or use [`verify_with_key`].
pub fn verify(dir: &Path) -> Result<Report, Error> {
    verify_with(dir, Trust::default())
}

/// Verifies the bundle in `dir` against `verifier`, ignoring the bundle's `key.vkey`.
pub fn verify_with_key(dir: &Path, verifier: &NoteVerifier) -> Result<Report, Error> {
    verify_with(
        dir,
        Trust {
            key: Some(verifier),
            tsa_ca: None,
        },
    )
}

/// Verifies the bundle in `dir` against what `trust` gives, the bundle's own key and CA
/// certificates for what it does not.
pub fn verify_with(dir: &Path, trust: Trust<'_>) -> Result<Report, Error> {
    let own_key;
    let verifier = match trust.key {
        Some(key) => key,
        None => {
            let path = dir.join(KEY_FILE);
            let vkey = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            own_key = NoteVerifier::parse(vkey.trim_end())?;
            &own_key
        }
    };
    let own_ca;
    let anchors = match trust.tsa_ca {
        Some(anchors) => Some(anchors),
        None => {
            let path = dir.join(TSA_CA_FILE);
            match fs::read(&path) {
                Ok(pem) => {
                    own_ca = TrustAnchors::from_pem(&pem)
                        .map_err(|e| Error::Bundle(format!("{}: {e}", path.display())))?;
                    Some(&own_ca)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    };
    let checkpoints = read_checkpoints(dir, verifier)?;
    let timestamps = check_timestamps(dir, &checkpoints.names, anchors)?;
    let timestamps_present = timestamps.present;
    let signed = checkpoints.valid.last().map_or(0, |&(size, _)| size);
    let replay = replay::replay(dir, &checkpoints.valid)?;
    if let Some(at) = replay.pruned_gap {
        return Ok(Report {
            entries: 0,
            pruned: replay.pruned,
            checkpoints: checkpoints.files,
            timestamps_present,
            timestamps_verified: timestamps.verified,
            verified_size: 0,
            problem: Some(Problem {
                index: at,
                kind: ProblemKind::BadTile,
                detail: format!(
                    "the bundle pruned {} entries, but the level-0 tiles that hold their leaf \
                     hashes end at {at}",
                    replay.pruned
                ),
            }),
        });
    }

    let mut found = judge::judge(&replay, signed);
    found.extend(checkpoints.problems);
    found.extend(timestamps.problems);
    let pruned = replay.pruned;
    // The record is signed when a verified root covers it: the entries' own, or the tiles'
    // where the entries still agree with them there (the alteration being after it).
    let signed_record = |at: u64| {
        at < replay.entries_cmp.verified_size
            || (at < replay.tiles.cmp.verified_size
                && replay
                    .tiles
                    .split
                    .as_ref()
                    .is_none_or(|split| split.at > at))
    };
    if pruned > 0 && !replay.prune_record.is_some_and(signed_record) {
        found.push((
            pruned,
            Problem {
                index: pruned,
                kind: ProblemKind::PruneUnrecorded,
                detail: format!(
                    "the bundle says its first {pruned} entries were pruned, but no entry a \
                     checkpoint verifies records a pruning below {pruned} (an \
                     `{PRUNE_ACTION}` entry of Keel with a retention of at least \
                     {MIN_RETENTION_DAYS} days): entries were removed"
                ),
            },
        ));
    }
    let mut problem = found
        .into_iter()
        .enumerate()
        .min_by_key(|(order, (key, _))| (*key, *order))
        .map(|(_, (_, problem))| problem);
    let verified_size = replay.entries_cmp.verified_size;
    if problem.is_none() && replay.entries > verified_size {
        let v = verified_size;
        problem = Some(Problem {
            index: v,
            kind: ProblemKind::Unsigned,
            detail: format!(
                "{} entries from index {v} on are not covered by a signed checkpoint",
                replay.entries - v
            ),
        });
    }
    Ok(Report {
        entries: replay.entries.saturating_sub(replay.pruned),
        pruned: replay.pruned,
        checkpoints: checkpoints.files,
        timestamps_present,
        timestamps_verified: timestamps.verified,
        verified_size,
        problem,
    })
}

/// A problem and the position it was detected at, which orders problems: the first is reported.
type Found = (u64, Problem);

/// The names in the bundle's directory `dir`, sorted (none when it does not exist).
fn sorted_names(dir: &Path) -> Result<Vec<std::ffi::OsString>, Error> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in listing {
        names.push(entry.map_err(|e| Error::io(dir, e))?.file_name());
    }
    names.sort();
    Ok(names)
}

/// At most the first `cap + 1` bytes of `file` (more than `cap` means it is too large).
fn read_capped(file: impl std::io::Read, cap: usize, path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

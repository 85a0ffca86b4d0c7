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
mod upper;

use std::fs;
use std::path::Path;

use self::checkpoints::{count_timestamps, read_checkpoints};
use super::{KEY_FILE, Problem, ProblemKind, Report};
use crate::Error;
use crate::note::NoteVerifier;

/// Verifies the bundle in `dir` against the key in its `key.vkey`.
///
/// Fails only on I/O errors and on a missing or unparseable `key.vkey`; everything wrong with
/// the entries, checkpoints or hash tiles is reported in the [`Report`]. The key comes from the bundle
/// itself, so this proves the bundle is consistent with *that* key: compare
/// `key.vkey` with the log's known key, or use [`verify_with_key`].
pub fn verify(dir: &Path) -> Result<Report, Error> {
    let path = dir.join(KEY_FILE);
    let vkey = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let verifier = NoteVerifier::parse(vkey.trim_end())?;
    verify_with_key(dir, &verifier)
}

/// Verifies the bundle in `dir` against `verifier`, ignoring the bundle's `key.vkey`.
pub fn verify_with_key(dir: &Path, verifier: &NoteVerifier) -> Result<Report, Error> {
    let checkpoints = read_checkpoints(dir, verifier)?;
    let timestamps_present = count_timestamps(dir, &checkpoints.names)?;
    let signed = checkpoints.valid.last().map_or(0, |&(size, _)| size);
    let replay = replay::replay(dir, &checkpoints.valid)?;

    let mut found = judge::judge(&replay, signed);
    found.extend(checkpoints.problems);
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
        entries: replay.entries,
        checkpoints: checkpoints.files,
        timestamps_present,
        verified_size,
        problem,
    })
}

/// A problem and the position it was detected at, which orders problems: the first is reported.
type Found = (u64, Problem);

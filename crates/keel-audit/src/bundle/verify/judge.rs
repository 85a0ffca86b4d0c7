//! Turning what the pass over entries and tiles found into problems.
//!
//! When the entries do not verify the last checkpoint and a checkpoint after the first index
//! where entries and tiles differ verifies the tiles, the tiles are the signed tree there (by
//! SHA-256's collision resistance), and so are the entries before that index, which hash to
//! the same leaves: that index is exactly where the entries were altered. Otherwise the report
//! falls back to what the checkpoints alone tell, and says why the tiles could not.

use super::Found;
use super::replay::{Cause, Replay, Split};
use crate::bundle::{ENTRIES_FILE, Problem, ProblemKind};
use crate::tile;

/// The problems `replay` shows, each keyed by where it was detected.
pub(super) fn judge(replay: &Replay<'_>, signed: u64) -> Vec<Found> {
    let mut out = Vec::new();
    if let Some(i) = replay.not_canonical {
        out.push(found(
            i,
            i,
            ProblemKind::EntryNotCanonical,
            format!("entry {i} is not RFC 8785 canonical JSON"),
        ));
    }
    if let Some(i) = replay.unterminated {
        out.push(found(
            i,
            i,
            ProblemKind::EntryAltered,
            format!("the last line of {ENTRIES_FILE} (entry {i}) has no newline"),
        ));
    }
    let tiles = &replay.tiles;
    let inconsistent = [&replay.entries_cmp, &tiles.cmp]
        .iter()
        .filter_map(|cmp| cmp.inconsistency())
        .min();
    if let Some((size, later)) = inconsistent {
        out.push(found(
            size,
            size,
            ProblemKind::Inconsistent,
            format!(
                "the checkpoint of size {size} does not match the tree that the checkpoint of \
                 size {later} verifies: the log signed inconsistent checkpoints"
            ),
        ));
    }
    // Only where a signature covers it does a difference between entries and tiles matter.
    let split = tiles.split.as_ref().filter(|s| s.at < signed);
    if !replay.entries_cmp.verified_all() {
        match split.filter(|s| s.cause != Cause::TilesEnded && s.at < tiles.cmp.verified_size) {
            Some(split) => out.push(exact(replay, split)),
            None => out.extend(coarse(replay, split)),
        }
    } else if tiles.present {
        out.extend(bad_tiles(replay, split, signed));
    }
    out
}

fn found(key: u64, index: u64, kind: ProblemKind, detail: String) -> Found {
    (
        key,
        Problem {
            index,
            kind,
            detail,
        },
    )
}

/// The exact problem at `split`, which the checkpoint-verified tiles locate.
fn exact(replay: &Replay<'_>, split: &Split) -> Found {
    let i = split.at;
    let size = replay.tiles.cmp.verified_size;
    if split.cause == Cause::EntriesEnded {
        return found(
            i,
            i,
            ProblemKind::EntryMissing,
            format!(
                "{ENTRIES_FILE} ends after {i} entries, but the signed tree holds more: entry {i} \
                 is missing (the hash tiles, which the checkpoint of size {size} verifies, hold \
                 {} more leaves)",
                size - i
            ),
        );
    }
    found(
        i,
        i,
        ProblemKind::EntryAltered,
        format!(
            "entry {i} is not the entry the signed tree holds: the signed entry {i} was altered, \
             removed or moved, or another entry was inserted before it (its leaf hash differs \
             from the one in {}, which the checkpoint of size {size} verifies)",
            split.tile
        ),
    )
}

/// The problems the checkpoints alone show, when the tiles cannot locate the alteration.
fn coarse(replay: &Replay<'_>, split: Option<&Split>) -> Vec<Found> {
    let why = why_not_exact(replay, split);
    let cmp = &replay.entries_cmp;
    let mut out = Vec::new();
    if let (Some((size, before)), None) = (cmp.mismatch, cmp.matched_after) {
        out.push(found(
            size,
            before,
            ProblemKind::EntryAltered,
            format!(
                "the entries do not match the checkpoint of size {size}: an entry between index \
                 {before} and index {} was altered, removed, inserted or moved ({why})",
                size - 1
            ),
        ));
    }
    if let Some(size) = cmp.unreached() {
        let n = replay.entries;
        out.push(found(
            n,
            n,
            ProblemKind::EntryMissing,
            format!(
                "the checkpoint of size {size} covers {} more entries than the {n} in the bundle \
                 (entries from index {} on are not verified by any checkpoint; {why})",
                size - n,
                cmp.verified_size
            ),
        ));
    }
    out
}

/// Why the tiles cannot locate the alteration.
fn why_not_exact(replay: &Replay<'_>, split: Option<&Split>) -> String {
    let tiles = &replay.tiles;
    if !tiles.present {
        return format!(
            "the bundle has no hash tiles ({}/) to tell which entry",
            tile::DIR
        );
    }
    match split {
        None => "the hash tiles hold the same leaf hashes as the entries, so they cannot tell \
                 which entry either"
            .into(),
        Some(split) if split.cause == Cause::TilesEnded => format!(
            "the hash tiles cannot tell which entry: {}",
            tiles.gap.as_deref().unwrap_or("they end early")
        ),
        Some(split) => format!(
            "the hash tiles cannot tell which entry: they differ from the entries from index {} \
             on, and no checkpoint after that verifies them either",
            split.at
        ),
    }
}

/// The problems of tiles that do not hold the tree the entries verify.
fn bad_tiles(replay: &Replay<'_>, split: Option<&Split>, signed: u64) -> Vec<Found> {
    let mut out = Vec::new();
    if let Some(split) = split {
        let i = split.at;
        let detail = match split.cause {
            Cause::Mismatch => format!(
                "{} holds a wrong leaf hash at index {i}: entry {i}, which the checkpoint of size \
                 {signed} verifies, hashes to another",
                split.tile
            ),
            _ => replay
                .tiles
                .gap
                .clone()
                .unwrap_or_else(|| format!("the hash tiles end at index {i}")),
        };
        out.push(found(i, i, ProblemKind::BadTile, detail));
    }
    if let Some((i, detail)) = &replay.tiles.upper {
        out.push(found(*i, *i, ProblemKind::BadTile, detail.clone()));
    }
    out
}

//! Verifying an export bundle: checkpoints first, then one streaming pass over the entries that
//! rebuilds the tree's frontier and compares its root whenever it reaches a checkpoint's size.
//!
//! Memory is `O(log n + checkpoints)`; no proofs are needed, as every checkpoint is compared
//! with the tree rebuilt from the entries themselves.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::Path;

use super::{
    CHECKPOINTS_DIR, ENTRIES_FILE, KEY_FILE, Problem, ProblemKind, Report, TIMESTAMP_EXT,
    TIMESTAMPS_DIR, parse_checkpoint_name,
};
use crate::Error;
use crate::canonical::is_canonical;
use crate::checkpoint::Checkpoint;
use crate::hash::{Hash, leaf_hash};
use crate::note::{MAX_NOTE_BYTES, NoteVerifier};
use crate::tree::Frontier;

/// Verifies the bundle in `dir` against the key in its `key.vkey`.
///
/// Fails only on I/O errors and on a missing or unparseable `key.vkey`; everything wrong with
/// the entries or checkpoints is reported in the [`Report`]. The key comes from the bundle
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
    let replay = replay_entries(dir, &checkpoints.valid)?;

    let mut found = replay.problems;
    if let Some(&(size, _)) = checkpoints.valid.get(replay.reached) {
        let n = replay.entries;
        found.push((
            n,
            Problem {
                index: n,
                kind: ProblemKind::EntryMissing,
                detail: format!(
                    "the checkpoint of size {size} covers {} more entries than the {n} in the \
                     bundle (entries from index {} on are not verified by any checkpoint)",
                    size - n,
                    replay.verified_size
                ),
            },
        ));
    }
    found.extend(checkpoints.problems);
    let mut problem = found
        .into_iter()
        .enumerate()
        .min_by_key(|(order, (key, _))| (*key, *order))
        .map(|(_, (_, problem))| problem);
    if problem.is_none() && replay.entries > replay.verified_size {
        let v = replay.verified_size;
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
        verified_size: replay.verified_size,
        problem,
    })
}

/// A problem and the position it was detected at, which orders problems: the first is reported.
type Found = (u64, Problem);

/// The checkpoints of a bundle.
#[derive(Default)]
struct Checkpoints {
    /// The number of files in `checkpoints/`.
    files: u64,
    /// Their names, sorted.
    names: Vec<String>,
    /// The sizes and roots of the valid ones, by size.
    valid: Vec<(u64, Hash)>,
    /// What is wrong with the others.
    problems: Vec<Found>,
}

fn read_checkpoints(dir: &Path, verifier: &NoteVerifier) -> Result<Checkpoints, Error> {
    let cdir = dir.join(CHECKPOINTS_DIR);
    let listing = match fs::read_dir(&cdir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Checkpoints::default()),
        Err(e) => return Err(Error::io(cdir, e)),
    };
    let mut files = Vec::new();
    for entry in listing {
        files.push(entry.map_err(|e| Error::io(&cdir, e))?.file_name());
    }
    files.sort();
    let mut out = Checkpoints {
        files: files.len() as u64,
        ..Checkpoints::default()
    };
    for file in &files {
        let name = file.to_string_lossy();
        let name_size = parse_checkpoint_name(&name);
        match read_checkpoint(&cdir.join(file), verifier)? {
            Ok(cp) if name_size == Some(cp.size) => out.valid.push((cp.size, cp.root)),
            Ok(cp) => {
                let index = name_size.unwrap_or(cp.size);
                out.problems.push((
                    index,
                    Problem {
                        index,
                        kind: ProblemKind::BadCheckpoint,
                        detail: format!(
                            "{CHECKPOINTS_DIR}/{name} holds the checkpoint of size {}: its file \
                             name must be {}",
                            cp.size,
                            super::checkpoint_name(cp.size)
                        ),
                    },
                ));
            }
            Err((kind, why)) => {
                let index = name_size.unwrap_or(0);
                out.problems.push((
                    index,
                    Problem {
                        index,
                        kind,
                        detail: format!("{CHECKPOINTS_DIR}/{name}: {why}"),
                    },
                ));
            }
        }
    }
    out.names = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    out.names.sort();
    Ok(out)
}

/// Reads, opens and parses one checkpoint file: the checkpoint, or why it is bad.
fn read_checkpoint(
    path: &Path,
    verifier: &NoteVerifier,
) -> Result<Result<Checkpoint, (ProblemKind, String)>, Error> {
    let bad = |why: String| Ok(Err((ProblemKind::BadCheckpoint, why)));
    let forged = |why: String| Ok(Err((ProblemKind::BadSignature, why)));
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::IsADirectory => return bad("not a file".into()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if file.metadata().map_err(|e| Error::io(path, e))?.is_dir() {
        return bad("not a file".into());
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_NOTE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() > MAX_NOTE_BYTES {
        return bad("larger than 1 MiB".into());
    }
    let Ok(note) = std::str::from_utf8(&bytes) else {
        return bad("not UTF-8".into());
    };
    let text = match verifier.open(note) {
        Ok(text) => text,
        Err(e @ Error::MalformedNote(_)) => return bad(e.to_string()),
        Err(e) => return forged(e.to_string()),
    };
    let cp = match Checkpoint::parse(text) {
        Ok(cp) => cp,
        Err(e) => return bad(e.to_string()),
    };
    if cp.origin != verifier.name() {
        return forged(format!(
            "its origin {:?} is not the key name {:?}",
            cp.origin,
            verifier.name()
        ));
    }
    Ok(Ok(cp))
}

/// The number of `timestamps/<name>.tsr` files whose `<name>` is a checkpoint file's.
fn count_timestamps(dir: &Path, checkpoint_names: &[String]) -> Result<u64, Error> {
    let tdir = dir.join(TIMESTAMPS_DIR);
    let listing = match fs::read_dir(&tdir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(tdir, e)),
    };
    let mut count = 0;
    for entry in listing {
        let entry = entry.map_err(|e| Error::io(&tdir, e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(TIMESTAMP_EXT)) else {
            continue;
        };
        if checkpoint_names
            .binary_search_by(|n| n.as_str().cmp(stem))
            .is_ok()
        {
            count += 1;
        }
    }
    Ok(count)
}

/// What replaying the entries found.
struct Replay {
    entries: u64,
    verified_size: u64,
    /// How many of the valid checkpoints the entries reached.
    reached: usize,
    problems: Vec<Found>,
}

/// Compares the rebuilt tree with the checkpoints as it grows.
struct Comparer<'a> {
    checkpoints: &'a [(u64, Hash)],
    next: usize,
    verified_size: u64,
    /// The first checkpoint that did not match, and the last verified size before it.
    mismatch: Option<(u64, u64)>,
    /// A checkpoint after that mismatch which matched.
    matched_after: Option<u64>,
}

impl Comparer<'_> {
    /// Compares the checkpoints of the frontier's size with its root.
    fn reach(&mut self, frontier: &Frontier) {
        let size = frontier.size();
        while let Some(&(cp_size, root)) = self.checkpoints.get(self.next) {
            if cp_size != size {
                break;
            }
            if frontier.root() == root {
                self.verified_size = size;
                if self.mismatch.is_some() && self.matched_after.is_none() {
                    self.matched_after = Some(size);
                }
            } else if self.mismatch.is_none() {
                self.mismatch = Some((size, self.verified_size));
            }
            self.next += 1;
        }
    }
}

fn replay_entries(dir: &Path, checkpoints: &[(u64, Hash)]) -> Result<Replay, Error> {
    let path = dir.join(ENTRIES_FILE);
    let mut frontier = Frontier::empty();
    let mut cmp = Comparer {
        checkpoints,
        next: 0,
        verified_size: 0,
        mismatch: None,
        matched_after: None,
    };
    let mut not_canonical = None;
    let mut unterminated = None;
    match File::open(&path) {
        Ok(file) => {
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut line = Vec::with_capacity(4096);
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::io(&path, e))?;
                if n == 0 {
                    break;
                }
                cmp.reach(&frontier);
                let index = frontier.size();
                let bytes = match line.strip_suffix(b"\n") {
                    Some(bytes) => bytes,
                    None => {
                        unterminated = Some(index);
                        &line[..]
                    }
                };
                if not_canonical.is_none() && !is_canonical(bytes) {
                    not_canonical = Some(index);
                }
                frontier.push_leaf(leaf_hash(bytes));
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    cmp.reach(&frontier);

    let mut problems = Vec::new();
    if let Some(i) = not_canonical {
        problems.push((
            i,
            Problem {
                index: i,
                kind: ProblemKind::EntryNotCanonical,
                detail: format!("entry {i} is not RFC 8785 canonical JSON"),
            },
        ));
    }
    if let Some(i) = unterminated {
        problems.push((
            i,
            Problem {
                index: i,
                kind: ProblemKind::EntryAltered,
                detail: format!("the last line of {ENTRIES_FILE} (entry {i}) has no newline"),
            },
        ));
    }
    if let Some((size, before)) = cmp.mismatch {
        let problem = match cmp.matched_after {
            Some(later) => Problem {
                index: size,
                kind: ProblemKind::Inconsistent,
                detail: format!(
                    "the checkpoint of size {size} does not match the entries, which the \
                     checkpoint of size {later} verifies: the log signed inconsistent checkpoints"
                ),
            },
            None => Problem {
                index: before,
                kind: ProblemKind::EntryAltered,
                detail: format!(
                    "the entries do not match the checkpoint of size {size}: an entry between \
                     index {before} and index {} was altered, removed, inserted or moved",
                    size - 1
                ),
            },
        };
        problems.push((size, problem));
    }
    Ok(Replay {
        entries: frontier.size(),
        verified_size: cmp.verified_size,
        reached: cmp.next,
        problems,
    })
}

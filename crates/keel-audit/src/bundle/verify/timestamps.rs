//! Checking a bundle's RFC 3161 timestamps: each `timestamps/<size>.tsr` must be a granted
//! reply whose token covers the exact bytes of `checkpoints/<size>`, signed by a timestamp
//! authority that chains to the trusted CA certificates. Without CA certificates (none given,
//! none in the bundle) the timestamps are counted, not checked.

use std::fs::File;
use std::path::Path;

use super::{Found, read_capped, sorted_names};
use crate::Error;
use crate::bundle::{
    CHECKPOINTS_DIR, Problem, ProblemKind, TIMESTAMP_EXT, TIMESTAMPS_DIR, parse_checkpoint_name,
};
use crate::note::MAX_NOTE_BYTES;
use crate::timestamp::{self, MAX_TOKEN_LEN, TrustAnchors};

/// What the timestamps showed.
#[derive(Default)]
pub(super) struct Timestamps {
    /// Replies present for a checkpoint of the bundle.
    pub(super) present: u64,
    /// Those that verified against the CA certificates.
    pub(super) verified: u64,
    /// Those that did not.
    pub(super) problems: Vec<Found>,
}

/// Checks the replies of `timestamps/` whose name is one of `checkpoint_names` (sorted).
pub(super) fn check_timestamps(
    dir: &Path,
    checkpoint_names: &[String],
    anchors: Option<&TrustAnchors>,
) -> Result<Timestamps, Error> {
    let tdir = dir.join(TIMESTAMPS_DIR);
    let names = sorted_names(&tdir)?;
    let mut out = Timestamps::default();
    for name in names {
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(TIMESTAMP_EXT)) else {
            continue;
        };
        if checkpoint_names
            .binary_search_by(|n| n.as_str().cmp(stem))
            .is_err()
        {
            continue;
        }
        out.present += 1;
        let Some(anchors) = anchors else {
            continue;
        };
        let size = parse_checkpoint_name(stem).unwrap_or(0);
        let reply = read_file(&tdir.join(&name), MAX_TOKEN_LEN)?;
        let note = read_file(&dir.join(CHECKPOINTS_DIR).join(stem), MAX_NOTE_BYTES)?;
        match timestamp::verify(&reply, &note, anchors) {
            Ok(_) => out.verified += 1,
            Err(e) => out.problems.push((
                size,
                Problem {
                    index: size,
                    kind: ProblemKind::BadTimestamp,
                    detail: format!(
                        "{TIMESTAMPS_DIR}/{stem}{TIMESTAMP_EXT} is not a valid timestamp of \
                         {CHECKPOINTS_DIR}/{stem}: {e}"
                    ),
                },
            )),
        }
    }
    Ok(out)
}

/// The first `cap + 1` bytes of the file at `path` at most (a longer one then fails to verify).
fn read_file(path: &Path, cap: usize) -> Result<Vec<u8>, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    read_capped(file, cap, path)
}

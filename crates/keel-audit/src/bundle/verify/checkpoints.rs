//! Reading a bundle's checkpoints, checking their signatures and names.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use super::{Found, read_capped, sorted_names};
use crate::Error;
use crate::bundle::{
    CHECKPOINTS_DIR, Problem, ProblemKind, checkpoint_name, parse_checkpoint_name,
};
use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::note::{MAX_NOTE_BYTES, NoteVerifier};

/// The checkpoints of a bundle.
#[derive(Default)]
pub(super) struct Checkpoints {
    /// The number of files in `checkpoints/`.
    pub(super) files: u64,
    /// Their names, sorted.
    pub(super) names: Vec<String>,
    /// The sizes and roots of the valid ones, by size.
    pub(super) valid: Vec<(u64, Hash)>,
    /// What is wrong with the others.
    pub(super) problems: Vec<Found>,
}

pub(super) fn read_checkpoints(dir: &Path, verifier: &NoteVerifier) -> Result<Checkpoints, Error> {
    let cdir = dir.join(CHECKPOINTS_DIR);
    let files = sorted_names(&cdir)?;
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
                            checkpoint_name(cp.size)
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
    let bytes = read_capped(&mut file, MAX_NOTE_BYTES, path)?;
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

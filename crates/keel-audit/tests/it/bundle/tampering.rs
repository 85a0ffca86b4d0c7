//! Exact localization: with the bundle's hash tiles, every alteration of `entries.jsonl` (a
//! letter changed, a line deleted, two lines swapped, a line inserted or duplicated, the file
//! cut short) is reported at exactly the first index it changes, wherever that is relative to
//! the checkpoints (50, 100, 200, 300) and to the tiles (a full level-0 tile of 256 leaves, then
//! a partial one of 44); lines appended after the last checkpoint are unsigned.

use keel_audit::bundle::ProblemKind;

use super::{N, covered_before, entry, fresh, lines, problem, set_lines, verify};

/// Indexes at the start, around every checkpoint size and tile boundary, in the middle and at
/// the end.
pub(crate) const KS: [u64; 15] = [
    0, 1, 49, 50, 51, 99, 100, 150, 199, 200, 201, 255, 256, 298, 299,
];

/// The ways of tampering with `entries.jsonl` at an index `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tamper {
    /// A letter changed inside a JSON string of entry `k` (the line stays canonical).
    Letter,
    /// Line `k` deleted.
    Delete,
    /// Lines `k` and `k + 1` swapped.
    Swap,
    /// A new line inserted before line `k`.
    Insert,
    /// A copy of line `k` inserted after it.
    Duplicate,
    /// The file cut after `k` lines.
    Truncate,
}

pub(crate) const ALL: [Tamper; 6] = [
    Tamper::Letter,
    Tamper::Delete,
    Tamper::Swap,
    Tamper::Insert,
    Tamper::Duplicate,
    Tamper::Truncate,
];

/// Changes the first letter of the `"aaaa..."` string in a line to `b`.
pub(crate) fn change_letter(line: &mut [u8]) {
    let at = line
        .windows(5)
        .position(|w| w == b"\"aaaa")
        .expect("a string of a's")
        + 1;
    line[at] = b'b';
}

/// `original` tampered with at `k`; `None` where that tampering does not apply.
pub(crate) fn tampered(original: &[Vec<u8>], t: Tamper, k: u64) -> Option<Vec<Vec<u8>>> {
    let k = k as usize;
    let mut l = original.to_vec();
    match t {
        Tamper::Letter => change_letter(&mut l[k]),
        Tamper::Delete => {
            l.remove(k);
        }
        Tamper::Swap if k + 1 < l.len() => l.swap(k, k + 1),
        Tamper::Swap => return None,
        Tamper::Insert => l.insert(k, entry(10_000 + k as u64)),
        Tamper::Duplicate => l.insert(k + 1, l[k].clone()),
        Tamper::Truncate => l.truncate(k),
    }
    Some(l)
}

/// What verifying a 300-entry bundle tampered with at `k` must report.
pub(crate) fn expected(t: Tamper, k: u64) -> (ProblemKind, u64) {
    match t {
        Tamper::Delete if k == N - 1 => (ProblemKind::EntryMissing, k),
        Tamper::Truncate => (ProblemKind::EntryMissing, k),
        // A copy of the last line is one appended after the last checkpoint.
        Tamper::Duplicate if k == N - 1 => (ProblemKind::Unsigned, N),
        Tamper::Duplicate => (ProblemKind::EntryAltered, k + 1),
        _ => (ProblemKind::EntryAltered, k),
    }
}

#[test]
fn every_tampering_is_reported_at_its_exact_index() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    for t in ALL {
        for k in KS {
            let Some(l) = tampered(&original, t, k) else {
                continue;
            };
            set_lines(&dir, &l);
            let r = verify(&dir);
            let want = expected(t, k);
            assert_eq!(problem(&r), want, "{t:?} at {k}: {r:?}");
            assert_eq!(r.entries, l.len() as u64, "{t:?} at {k}");
            // The entries themselves are verified up to the last checkpoint before the index.
            assert_eq!(
                r.verified_size,
                covered_before(want.1),
                "{t:?} at {k}: {r:?}"
            );
            let detail = &r.problem.as_ref().expect("a problem").detail;
            match want.0 {
                ProblemKind::EntryAltered => assert!(
                    detail.starts_with(&format!(
                        "entry {} is not the entry the signed tree holds",
                        want.1
                    )),
                    "{t:?} at {k}: {detail}"
                ),
                ProblemKind::EntryMissing => {
                    assert!(
                        detail.contains(&format!("entry {k} is missing")),
                        "{detail}"
                    );
                }
                _ => {}
            }
        }
    }
    set_lines(&dir, &original);
    assert!(verify(&dir).is_ok());
}

#[test]
fn lines_appended_after_the_last_checkpoint_are_unsigned() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    for extra in [1, 2, 300] {
        let mut l = original.clone();
        l.extend((0..extra).map(|i| entry(N + i)));
        set_lines(&dir, &l);
        let r = verify(&dir);
        assert_eq!(problem(&r), (ProblemKind::Unsigned, N), "{extra}: {r:?}");
        assert_eq!(r.verified_size, N);
    }
    // A line inserted at the end is one appended, whatever it holds.
    let mut l = original.clone();
    l.push(original[0].clone());
    set_lines(&dir, &l);
    assert_eq!(problem(&verify(&dir)), (ProblemKind::Unsigned, N));
}

#[test]
fn several_alterations_are_reported_at_the_first() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    let mut l = original.clone();
    change_letter(&mut l[260]);
    change_letter(&mut l[120]);
    l.remove(30);
    set_lines(&dir, &l);
    assert_eq!(problem(&verify(&dir)), (ProblemKind::EntryAltered, 30));

    // A byte that breaks canonical JSON is reported as such, at its own index, even when a
    // later alteration is found as well.
    let mut l = original.clone();
    change_letter(&mut l[200]);
    let colon = l[120].iter().position(|&b| b == b':').expect("colon");
    l[120][colon] = b';';
    set_lines(&dir, &l);
    assert_eq!(
        problem(&verify(&dir)),
        (ProblemKind::EntryNotCanonical, 120)
    );
}

#[test]
fn an_inconsistent_checkpoint_is_found_by_the_tiles_when_entries_are_missing() {
    use super::{signed, signer};
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    // The log signed a tree of 200 that is not the prefix of its tree of 300, and the bundle
    // lost its last 50 entries: the tiles, which the checkpoint of 300 verifies, show both.
    std::fs::write(
        dir.join("checkpoints").join(super::checkpoint_name(200)),
        signed(&signer(), super::ORIGIN, 200, [9; 32]),
    )
    .expect("write");
    set_lines(&dir, &original[..250]);
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::Inconsistent, 200), "{r:?}");
    // Without the bad checkpoint, the missing entries are what is reported.
    std::fs::remove_file(dir.join("checkpoints").join(super::checkpoint_name(200)))
        .expect("remove");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::EntryMissing, 250));
}

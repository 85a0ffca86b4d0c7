//! Bundles of a log pruned by retention: the pruned entries' leaf hashes come from the level-0
//! tiles, every checkpoint (also those older than the retention) still verifies, and tampering
//! with the remaining entries, the tiles of the pruned range or the `pruned` count is reported.

use std::fs;
use std::path::{Path, PathBuf};

use keel_audit::bundle::{BundleWriter, ProblemKind};
use keel_audit::canonical::canonical_json;
use keel_audit::hash::leaf_hash;
use serde_json::json;
use tempfile::TempDir;

use super::{
    CHECKPOINTS, N, ORIGIN, TIMESTAMPS, entry, lines, problem, roots, set_lines, signed, signer,
    verify,
};

const PRUNED: u64 = 120;

/// The entry of a pruning below `below` with a retention of `days`, as Keel writes it.
fn prune_record(below: u64, days: u64) -> Vec<u8> {
    canonical_json(&json!({
        "action": "audit.prune",
        "actor": {"kind": "system", "name": "keel"},
        "detail": {"cutoff": "2026-01-01T00:00:00.000Z", "pruned_below": below, "retention_days": days},
        "event": "system",
        "outcome": "success",
        "resource": {"kind": "Server"},
        "time": "2026-07-01T00:00:00.000Z",
        "v": 1,
    }))
    .expect("canonical")
}

/// The entries of a log whose entry `at` records a pruning below `below` over `days`.
fn entries_with_record(at: u64, below: u64, days: u64) -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| {
            if i == at {
                prune_record(below, days)
            } else {
                entry(i)
            }
        })
        .collect()
}

/// A bundle of `N` entries whose first `pruned` were pruned (the first kept one records it).
fn write_pruned(dir: &Path, pruned: u64) {
    write_pruned_entries(dir, pruned, &entries_with_record(pruned, pruned, 200));
}

fn write_pruned_entries(dir: &Path, pruned: u64, entries: &[Vec<u8>]) {
    let s = signer();
    let roots = roots(entries);
    let mut w = BundleWriter::create(dir).expect("create");
    for e in &entries[..pruned as usize] {
        w.pruned_leaf(leaf_hash(e)).expect("pruned leaf");
    }
    for e in &entries[pruned as usize..] {
        w.entry(e).expect("entry");
    }
    for &size in &CHECKPOINTS {
        w.checkpoint(size, &signed(&s, ORIGIN, size, roots[size as usize]))
            .expect("checkpoint");
    }
    for &size in &TIMESTAMPS {
        w.timestamp(size, b"\x30\x03\x02\x01\x00")
            .expect("timestamp");
    }
    w.key(&s.verifier_key()).expect("key");
    w.finish().expect("finish");
}

fn fresh() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().expect("tempdir");
    let dir = tmp.path().join("bundle");
    write_pruned(&dir, PRUNED);
    (tmp, dir)
}

#[test]
fn a_pruned_bundle_verifies_every_checkpoint() {
    let (_tmp, dir) = fresh();
    let r = verify(&dir);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        (r.pruned, r.entries, r.verified_size),
        (PRUNED, N - PRUNED, N)
    );
    assert_eq!(
        fs::read_to_string(dir.join("pruned")).expect("pruned"),
        "120\n"
    );
    assert_eq!(
        lines(&dir)[0],
        prune_record(PRUNED, 200),
        "the first line is the first kept entry"
    );
    // A bundle without pruning has no `pruned` file.
    let tmp = TempDir::new().expect("tempdir");
    write_pruned(tmp.path(), 0);
    assert!(!tmp.path().join("pruned").exists());
    assert!(verify(tmp.path()).is_ok());
}

#[test]
fn the_writer_refuses_a_pruned_leaf_after_an_entry() {
    let tmp = TempDir::new().expect("tempdir");
    let mut w = BundleWriter::create(tmp.path()).expect("create");
    w.entry(&entry(0)).expect("entry");
    assert!(w.pruned_leaf(leaf_hash(&entry(1))).is_err());
}

#[test]
fn an_altered_kept_entry_is_located_by_its_leaf_index() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    for i in [PRUNED, 150, 255, 256, N - 1] {
        let mut l = original.clone();
        l[(i - PRUNED) as usize] = entry(i + 1000);
        set_lines(&dir, &l);
        let r = verify(&dir);
        assert_eq!(
            problem(&r),
            (ProblemKind::EntryAltered, i),
            "entry {i}: {r:?}"
        );
    }
    let mut l = original.clone();
    l.remove(10);
    set_lines(&dir, &l);
    assert_eq!(
        problem(&verify(&dir)),
        (ProblemKind::EntryAltered, PRUNED + 10)
    );
}

#[test]
fn a_wrong_pruned_count_is_detected() {
    let (_tmp, dir) = fresh();
    for count in ["119\n", "121\n", "0\n"] {
        fs::write(dir.join("pruned"), count).expect("write");
        let r = verify(&dir);
        let (kind, index) = problem(&r);
        assert_eq!(kind, ProblemKind::EntryAltered, "{count}: {r:?}");
        assert!(index <= PRUNED + 1, "{count}: {r:?}");
    }
    // Removing the file makes the first kept entry look like leaf 0.
    fs::remove_file(dir.join("pruned")).expect("remove");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::EntryAltered, 0));
    for garbage in ["", "12", "-1\n", "1e3\n", "99999999999999999999999\n"] {
        fs::write(dir.join("pruned"), garbage).expect("write");
        assert!(keel_audit::bundle::verify(&dir).is_err(), "{garbage:?}");
    }
}

#[test]
fn the_pruned_range_needs_its_tiles() {
    let (_tmp, dir) = fresh();
    fs::remove_file(dir.join("tile/0/000")).expect("remove");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::BadTile, 0), "{r:?}");
    assert_eq!(r.verified_size, 0);
}

#[test]
fn an_altered_leaf_hash_of_a_pruned_entry_breaks_the_checkpoints_after_it() {
    let (_tmp, dir) = fresh();
    let tile = dir.join("tile/0/000");
    let mut bytes = fs::read(&tile).expect("tile");
    bytes[70 * 32] ^= 1;
    fs::write(&tile, bytes).expect("write");
    let r = verify(&dir);
    // The entry is gone, so only the checkpoints can say where: after the last one verified.
    assert_eq!(problem(&r), (ProblemKind::EntryAltered, 50), "{r:?}");
    assert_eq!(r.verified_size, 50);
}

#[test]
fn entries_removed_as_if_pruned_without_a_signed_record_are_refused() {
    // Cutting ten more kept entries (the record among them) and raising the count rebuilds
    // every signed root from the tiles: only the missing record of a pruning gives it away.
    let (_tmp, dir) = fresh();
    let l = lines(&dir);
    set_lines(&dir, &l[10..]);
    fs::write(dir.join("pruned"), format!("{}\n", PRUNED + 10)).expect("write");
    let r = verify(&dir);
    assert_eq!(r.verified_size, N, "the roots still match: {r:?}");
    assert_eq!(
        problem(&r),
        (ProblemKind::PruneUnrecorded, PRUNED + 10),
        "{r:?}"
    );

    // A record that prunes less than the bundle says does not cover it either.
    let tmp = TempDir::new().expect("tempdir");
    write_pruned_entries(
        tmp.path(),
        PRUNED,
        &entries_with_record(PRUNED, PRUNED - 1, 200),
    );
    assert_eq!(
        problem(&verify(tmp.path())),
        (ProblemKind::PruneUnrecorded, PRUNED)
    );

    // Nor does one with a retention under six months.
    let tmp = TempDir::new().expect("tempdir");
    write_pruned_entries(tmp.path(), PRUNED, &entries_with_record(PRUNED, PRUNED, 30));
    assert_eq!(
        problem(&verify(tmp.path())),
        (ProblemKind::PruneUnrecorded, PRUNED)
    );

    // A record after the last checkpoint is not signed, so it does not count.
    let tmp = TempDir::new().expect("tempdir");
    let mut entries = entries_with_record(N + 5, PRUNED, 200);
    entries.push(prune_record(PRUNED, 200));
    write_pruned_entries(tmp.path(), PRUNED, &entries);
    let r = verify(tmp.path());
    assert_eq!(problem(&r), (ProblemKind::PruneUnrecorded, PRUNED), "{r:?}");
}

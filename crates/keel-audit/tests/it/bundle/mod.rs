//! Export bundles: a clean bundle verifies, and every kind of tampering is reported with the
//! right kind and index (alterations of entries exactly, in [`tampering`]; the hash tiles and
//! what happens when they are missing or altered, in [`tiles`]).

mod pruned;
mod tampering;
mod tiles;

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use keel_audit::Error;
use keel_audit::bundle::{self, BundleWriter, Problem, ProblemKind, Report};
use keel_audit::canonical::canonical_json;
use keel_audit::checkpoint::Checkpoint;
use keel_audit::hash::{Hash, empty_root, leaf_hash};
use keel_audit::note::NoteSigner;
use keel_audit::tree::Frontier;
use serde_json::json;
use tempfile::TempDir;

pub(crate) const ORIGIN: &str = "keel.test/audit";
pub(crate) const N: u64 = 300;
pub(crate) const CHECKPOINTS: [u64; 4] = [50, 100, 200, 300];
pub(crate) const TIMESTAMPS: [u64; 2] = [100, 300];

pub(crate) fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[42; 32])).expect("signer")
}

/// A realistic audit entry, as canonical JSON (~400 bytes).
pub(crate) fn entry(i: u64) -> Vec<u8> {
    let v = json!({
        "v": 1,
        "seq": i,
        "at_ms": 1_767_225_600_000u64 + i * 1_250,
        "kind": "request",
        "actor": {"kind": "user", "id": format!("u-{:04}", i % 17), "name": "Ada L\u{f6}velace"},
        "action": "models.update",
        "resource": {"kind": "model", "id": format!("m-{i:06}"), "workspace": "research"},
        "outcome": "ok",
        "status": 200,
        "request": {
            "method": "PATCH",
            "path": format!("/api/v1/models/m-{i:06}"),
            "ip": "203.0.113.7",
            "id": format!("req-{i:08x}"),
            "user_agent": "keel-cli/1.4.2",
        },
        "note": "aaaaaaaaaa",
    });
    canonical_json(&v).expect("canonical")
}

pub(crate) fn checkpoint_name(size: u64) -> String {
    format!("{size:020}")
}

/// The signed checkpoint note of the tree of `entries`, with `origin`, signed by `signer`.
pub(crate) fn signed(signer: &NoteSigner, origin: &str, size: u64, root: Hash) -> String {
    let cp = Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        extensions: vec![],
    };
    signer.sign(&cp.to_text()).expect("signs")
}

pub(crate) fn roots(entries: &[Vec<u8>]) -> Vec<Hash> {
    let mut f = Frontier::empty();
    let mut roots = vec![f.root()];
    let mut done = Vec::new();
    for e in entries {
        f.push(leaf_hash(e), &mut done);
        roots.push(f.root());
    }
    roots
}

/// Writes a bundle of `n` entries with checkpoints and timestamps at the given sizes.
pub(crate) fn write(dir: &Path, n: u64, checkpoints: &[u64], timestamps: &[u64]) {
    let entries: Vec<Vec<u8>> = (0..n).map(entry).collect();
    write_entries(dir, &entries, checkpoints, timestamps);
}

/// Writes a bundle of `entries` with checkpoints and timestamps at the given sizes.
pub(crate) fn write_entries(
    dir: &Path,
    entries: &[Vec<u8>],
    checkpoints: &[u64],
    timestamps: &[u64],
) {
    let s = signer();
    let roots = roots(entries);
    let mut w = BundleWriter::create(dir).expect("create");
    for e in entries {
        w.entry(e).expect("entry");
    }
    for &size in checkpoints {
        w.checkpoint(size, &signed(&s, ORIGIN, size, roots[size as usize]))
            .expect("checkpoint");
    }
    for &size in timestamps {
        w.timestamp(size, b"\x30\x03\x02\x01\x00")
            .expect("timestamp");
    }
    w.key(&s.verifier_key()).expect("key");
    w.finish().expect("finish");
}

pub(crate) fn fresh() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().expect("tempdir");
    let dir = tmp.path().join("bundle");
    write(&dir, N, &CHECKPOINTS, &TIMESTAMPS);
    (tmp, dir)
}

pub(crate) fn lines(dir: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(dir.join("entries.jsonl")).expect("read");
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    assert_eq!(lines.pop(), Some(vec![]), "the file ends with a newline");
    lines
}

pub(crate) fn set_lines(dir: &Path, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    fs::write(dir.join("entries.jsonl"), bytes).expect("write");
}

pub(crate) fn verify(dir: &Path) -> Report {
    bundle::verify(dir).expect("verify")
}

pub(crate) fn problem(report: &Report) -> (ProblemKind, u64) {
    let p: &Problem = report.problem.as_ref().expect("a problem");
    (p.kind, p.index)
}

/// The size of the last checkpoint at or before entry `i` (the first index it does not cover
/// is where an alteration of entry `i` is reported).
pub(crate) fn covered_before(i: u64) -> u64 {
    CHECKPOINTS
        .iter()
        .copied()
        .filter(|&c| c <= i)
        .max()
        .unwrap_or(0)
}

#[test]
fn a_clean_bundle_verifies() {
    let (_tmp, dir) = fresh();
    assert_eq!(
        verify(&dir),
        Report {
            entries: N,
            pruned: 0,
            checkpoints: 4,
            timestamps_present: 2,
            timestamps_verified: 0,
            verified_size: N,
            problem: None,
        }
    );
    assert!(verify(&dir).is_ok());
    let line = &lines(&dir)[0];
    assert!(line.len() > 300 && line.len() < 500, "{}", line.len());
}

#[test]
fn a_byte_that_breaks_canonical_json_is_localized() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    for i in (0..N).step_by(11).chain([0, 299]) {
        // A byte that breaks the JSON...
        let mut l = original.clone();
        let line = &mut l[i as usize];
        let at = line.iter().position(|&b| b == b':').expect("colon");
        line[at] = b';';
        set_lines(&dir, &l);
        let r = verify(&dir);
        assert_eq!(
            problem(&r),
            (ProblemKind::EntryNotCanonical, i),
            "entry {i}: {r:?}"
        );
        // ...or keeps it valid JSON but not canonical.
        let mut l = original.clone();
        let line = &mut l[i as usize];
        line.insert(at + 1, b' ');
        set_lines(&dir, &l);
        let r = verify(&dir);
        assert_eq!(
            problem(&r),
            (ProblemKind::EntryNotCanonical, i),
            "entry {i}: {r:?}"
        );
    }
}

#[test]
fn entries_after_the_last_checkpoint_are_unsigned() {
    let (_tmp, dir) = fresh();
    let mut l = lines(&dir);
    l.extend((N..N + 5).map(entry));
    set_lines(&dir, &l);
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::Unsigned, N));
    assert_eq!(r.verified_size, N);
    assert_eq!(r.entries, N + 5);

    // A bundle with entries and no checkpoint at all.
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), 10, &[], &[]);
    let r = verify(tmp.path());
    assert_eq!(problem(&r), (ProblemKind::Unsigned, 0));
}

#[test]
fn missing_entries_are_reported() {
    let (_tmp, dir) = fresh();
    let l = lines(&dir);
    set_lines(&dir, &l[..250]);
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::EntryMissing, 250));
    assert_eq!(r.verified_size, 200);
    fs::remove_file(dir.join("entries.jsonl")).expect("remove");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::EntryMissing, 0));
    assert_eq!(r.entries, 0);
}

#[test]
fn a_checkpoint_signed_by_another_key_is_reported() {
    let (_tmp, dir) = fresh();
    let roots = roots(&lines(&dir));
    let path = dir.join("checkpoints").join(checkpoint_name(200));
    for other in [
        NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).expect("same name"),
        NoteSigner::new("evil.example/log", SigningKey::from_bytes(&[7; 32])).expect("other"),
    ] {
        fs::write(&path, signed(&other, ORIGIN, 200, roots[200])).expect("write");
        let r = verify(&dir);
        assert_eq!(problem(&r), (ProblemKind::BadSignature, 200), "{r:?}");
        assert_eq!(r.verified_size, N);
    }
    // Signed by the right key, but for another origin.
    fs::write(
        &path,
        signed(&signer(), "evil.example/log", 200, roots[200]),
    )
    .expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadSignature, 200));
    // A forged signature line claiming to be by the log's key.
    let good = signed(&signer(), ORIGIN, 200, roots[200]);
    fs::write(&path, good.replacen("200\n", "201\n", 1)).expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadSignature, 200));
}

#[test]
fn a_renamed_or_unreadable_checkpoint_is_reported() {
    let (_tmp, dir) = fresh();
    let cdir = dir.join("checkpoints");
    fs::rename(
        cdir.join(checkpoint_name(200)),
        cdir.join(checkpoint_name(250)),
    )
    .expect("rename");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::BadCheckpoint, 250), "{r:?}");
    assert_eq!(r.checkpoints, 4);
    assert_eq!(r.verified_size, N);

    fs::rename(cdir.join(checkpoint_name(250)), cdir.join("200")).expect("rename");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadCheckpoint, 200));

    fs::rename(cdir.join("200"), cdir.join(checkpoint_name(200))).expect("rename");
    assert!(verify(&dir).is_ok());
    fs::write(cdir.join(checkpoint_name(200)), "garbage").expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadCheckpoint, 200));
    // A note signed by the log whose text is not a checkpoint.
    fs::write(
        cdir.join(checkpoint_name(200)),
        signer().sign("hello\n").expect("sign"),
    )
    .expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadCheckpoint, 200));
    fs::write(cdir.join(checkpoint_name(200)), [0xff, 0xfe]).expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadCheckpoint, 200));
    fs::remove_file(cdir.join(checkpoint_name(200))).expect("remove");
    fs::create_dir(cdir.join(checkpoint_name(200))).expect("mkdir");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadCheckpoint, 200));
    fs::remove_dir(cdir.join(checkpoint_name(200))).expect("rmdir");
    let roots = roots(&lines(&dir));
    fs::write(
        cdir.join(checkpoint_name(200)),
        signed(&signer(), ORIGIN, 200, roots[200]),
    )
    .expect("write");
    assert!(verify(&dir).is_ok());

    // A stray file whose name is not even UTF-8.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let stray = cdir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe"));
        fs::write(&stray, "garbage").expect("write");
        let r = verify(&dir);
        assert_eq!(problem(&r), (ProblemKind::BadCheckpoint, 0), "{r:?}");
        assert_eq!(r.checkpoints, 5);
    }
}

#[test]
fn inconsistent_checkpoints_are_reported() {
    let (_tmp, dir) = fresh();
    let path = dir.join("checkpoints").join(checkpoint_name(200));
    // The log signed a tree of 200 that is not the prefix of the tree of 300 it also signed.
    fs::write(&path, signed(&signer(), ORIGIN, 200, [9; 32])).expect("write");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::Inconsistent, 200), "{r:?}");
    assert_eq!(r.verified_size, N);
    // For the last checkpoint nothing later tells a wrong root from altered entries.
    fs::write(
        &path,
        signed(&signer(), ORIGIN, 200, roots(&lines(&dir))[200]),
    )
    .expect("write");
    let last = dir.join("checkpoints").join(checkpoint_name(300));
    fs::write(&last, signed(&signer(), ORIGIN, 300, [9; 32])).expect("write");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::EntryAltered, 200), "{r:?}");
}

#[test]
fn a_missing_final_newline_is_reported() {
    let (_tmp, dir) = fresh();
    let path = dir.join("entries.jsonl");
    let mut bytes = fs::read(&path).expect("read");
    bytes.pop();
    fs::write(&path, bytes).expect("write");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::EntryAltered, N - 1), "{r:?}");
    assert_eq!(r.entries, N);
    assert_eq!(r.verified_size, N);
}

#[test]
fn the_key_file_is_required_and_another_key_fails_everything() {
    let (_tmp, dir) = fresh();
    let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).expect("signer");
    let r = bundle::verify_with_key(&dir, &other.verifier()).expect("verify");
    assert_eq!(problem(&r), (ProblemKind::BadSignature, 50));
    assert_eq!(r.verified_size, 0);
    let r = bundle::verify_with_key(&dir, &signer().verifier()).expect("verify");
    assert!(r.is_ok());

    fs::write(dir.join("key.vkey"), "not a key\n").expect("write");
    assert!(matches!(
        bundle::verify(&dir),
        Err(Error::InvalidVerifierKey(_))
    ));
    fs::remove_file(dir.join("key.vkey")).expect("remove");
    assert!(matches!(bundle::verify(&dir), Err(Error::Io { .. })));
}

#[test]
fn empty_bundles_and_timestamps() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), 0, &[], &[]);
    assert_eq!(
        verify(tmp.path()),
        Report {
            entries: 0,
            pruned: 0,
            checkpoints: 0,
            timestamps_present: 0,
            timestamps_verified: 0,
            verified_size: 0,
            problem: None
        }
    );
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), 0, &[0], &[0]);
    let r = verify(tmp.path());
    assert!(r.is_ok(), "{r:?}");
    assert_eq!((r.checkpoints, r.timestamps_present), (1, 1));
    assert_eq!(
        Checkpoint::parse(
            signer()
                .verifier()
                .open(
                    &fs::read_to_string(tmp.path().join("checkpoints").join(checkpoint_name(0)))
                        .expect("read")
                )
                .expect("opens")
        )
        .expect("parses")
        .root,
        empty_root()
    );

    // Only timestamps named for a present checkpoint count.
    let (_tmp, dir) = fresh();
    fs::write(
        dir.join("timestamps")
            .join(format!("{}.tsr", checkpoint_name(123))),
        b"x",
    )
    .expect("write");
    fs::write(dir.join("timestamps").join("README"), b"x").expect("write");
    assert_eq!(verify(&dir).timestamps_present, 2);
}

#[test]
fn the_writer_refuses_misuse() {
    let tmp = TempDir::new().expect("tempdir");
    fs::write(tmp.path().join("x"), b"x").expect("write");
    assert!(matches!(
        BundleWriter::create(tmp.path()),
        Err(Error::Bundle(_))
    ));

    let tmp = TempDir::new().expect("tempdir");
    let mut w = BundleWriter::create(tmp.path()).expect("empty dir is fine");
    assert!(matches!(w.entry(b"{\"a\":\"\n\"}"), Err(Error::Bundle(_))));
    w.checkpoint(0, "note").expect("checkpoint");
    assert!(matches!(w.checkpoint(0, "again"), Err(Error::Io { .. })));
    assert!(w.key("not a key").is_err());
    assert!(matches!(w.finish(), Err(Error::Bundle(_))));
}

//! The bundle's hash tiles: their paths and contents follow C2SP tlog-tiles and RFC 9162's tree
//! math; a bundle without them (written before them) still verifies; and a missing or altered
//! tile is reported when the entries verify, and never hides an alteration of the entries,
//! which is then located between two checkpoints (the fallback), with the reason.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use keel_audit::bundle::ProblemKind;
use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::tile::{Tile, TileBuilder, index_path};
use keel_audit::tree::Frontier;
use tempfile::TempDir;

use super::tampering::{ALL, Tamper, change_letter, tampered};
use super::{N, covered_before, fresh, lines, problem, set_lines, verify, write, write_entries};
use crate::reference::{Leaves, Tree};

/// Every file under `dir/tile`, as paths relative to `dir` with `/` separators.
fn tile_files(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, at: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(at).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under base");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(parts.join("/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, &dir.join("tile"), &mut out);
    out
}

/// The hashes in a tile file.
fn hashes(dir: &Path, path: &str) -> Vec<Hash> {
    let bytes = fs::read(dir.join(path)).expect("tile");
    assert_eq!(bytes.len() % 32, 0, "{path}");
    bytes
        .chunks(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

/// The tile paths that describe the tree of `size`, by the spec's definition.
fn spec_tiles(size: u64) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for level in 0..8 {
        for n in 0..Tile::full_tiles(level, size) {
            out.insert(Tile::full(level, n).path());
        }
    }
    out.extend(Tile::right_edge(size).iter().map(Tile::path));
    out
}

/// A small canonical entry.
fn small(i: u64) -> Vec<u8> {
    format!(r#"{{"note":"aaaa","seq":{i}}}"#).into_bytes()
}

#[test]
fn tile_paths_follow_the_spec() {
    // The spec's example of an index, and of the Go implementation's tile paths.
    assert_eq!(index_path(1_234_067), "x001/x234/067");
    assert_eq!(Tile::full(0, 1_234_067).path(), "tile/0/x001/x234/067");
    let partial = Tile {
        level: 4,
        index: 1_234_067,
        width: 1,
    };
    assert_eq!(partial.path(), "tile/4/x001/x234/067.p/1");
    assert_eq!(Tile::full(2, 0).path(), "tile/2/000");
    assert_eq!(Tile::full(0, 999).path(), "tile/0/999");
    assert_eq!(Tile::full(0, 1000).path(), "tile/0/x001/000");
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
    // tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    // partial level 2 tile of width 1."
    assert_eq!(Tile::full_tiles(0, 70_000), 273);
    assert_eq!(Tile::full_tiles(1, 70_000), 1);
    assert_eq!(Tile::full_tiles(2, 70_000), 0);
    let edge: Vec<String> = Tile::right_edge(70_000).iter().map(Tile::path).collect();
    assert_eq!(
        edge,
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    );
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    // tile of width 1."
    assert_eq!(
        spec_tiles(256),
        BTreeSet::from(["tile/0/000".into(), "tile/1/000.p/1".into()])
    );
}

#[test]
fn built_tiles_match_the_tree_math() {
    let n = 70_000u64;
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&small(i))).collect();
    let reference = Leaves(leaves.clone());
    let mut builder = TileBuilder::new();
    let mut tiles: Vec<(Tile, Vec<Hash>)> = Vec::new();
    for l in &leaves {
        builder
            .push(*l, |t, h| {
                tiles.push((t, h.to_vec()));
                Ok::<_, ()>(())
            })
            .expect("push");
    }
    assert_eq!(builder.size(), n);
    tiles.extend(builder.partial_tiles().map(|(t, h)| (t, h.to_vec())));
    let paths: BTreeSet<String> = tiles.iter().map(|(t, _)| t.path()).collect();
    assert_eq!(paths, spec_tiles(n));
    for (tile, hashes) in &tiles {
        let span = 1u64 << (8 * tile.level);
        assert_eq!(hashes.len(), usize::from(tile.width), "{}", tile.path());
        for (i, h) in hashes.iter().enumerate() {
            // MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])
            let lo = (tile.index * 256 + i as u64) * span;
            assert_eq!(*h, reference.mth(lo, lo + span), "{} hash {i}", tile.path());
            if tile.level == 1 {
                // Each level-1 hash is the root of the 256 leaves of a full level-0 tile.
                let mut f = Frontier::empty();
                let mut done = Vec::new();
                for l in &leaves[lo as usize..(lo + 256) as usize] {
                    f.push(*l, &mut done);
                }
                assert_eq!(*h, f.root());
            }
        }
    }
    assert_eq!(builder.frontier().root(), reference.mth(0, n));
}

#[test]
fn a_bundle_of_70000_entries_has_the_spec_tiles_and_verifies() {
    let n = 70_000u64;
    let tmp = TempDir::new().expect("tempdir");
    let dir = tmp.path().join("bundle");
    let entries: Vec<Vec<u8>> = (0..n).map(small).collect();
    write_entries(&dir, &entries, &[256, 65_536, 69_999, n], &[]);
    assert_eq!(tile_files(&dir), spec_tiles(n));
    let r = verify(&dir);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!((r.entries, r.verified_size), (n, n));

    // The files hold the leaf hashes, and the roots of the full tiles below them.
    let reference = Leaves(entries.iter().map(|e| leaf_hash(e)).collect());
    assert_eq!(hashes(&dir, "tile/0/000")[..], reference.0[..256]);
    assert_eq!(hashes(&dir, "tile/0/273.p/112")[..], reference.0[69_888..]);
    let level1 = hashes(&dir, "tile/1/001.p/17");
    for (j, h) in level1.iter().enumerate() {
        let lo = (256 + j as u64) * 256;
        assert_eq!(*h, reference.mth(lo, lo + 256));
    }
    assert_eq!(hashes(&dir, "tile/2/000.p/1"), [reference.mth(0, 65_536)]);

    // Alterations in every kind of tile are located exactly.
    let original = lines(&dir);
    for k in [300u64, 65_535, 65_536, 66_000, 69_887, 69_888, 69_998] {
        let mut l = original.clone();
        change_letter(&mut l[k as usize]);
        set_lines(&dir, &l);
        assert_eq!(
            problem(&verify(&dir)),
            (ProblemKind::EntryAltered, k),
            "{k}"
        );
    }
    let mut l = original.clone();
    l.remove(69_999);
    set_lines(&dir, &l);
    assert_eq!(problem(&verify(&dir)), (ProblemKind::EntryMissing, 69_999));
}

#[test]
fn the_writer_writes_the_tiles_of_any_size() {
    for n in [0u64, 1, 255, 256, 257, 511, 512, 1000] {
        let tmp = TempDir::new().expect("tempdir");
        let entries: Vec<Vec<u8>> = (0..n).map(small).collect();
        write_entries(tmp.path(), &entries, &[n], &[]);
        assert_eq!(tile_files(tmp.path()), spec_tiles(n), "{n}");
        assert!(verify(tmp.path()).is_ok(), "{n}");
    }
}

#[test]
fn an_older_bundle_without_tiles_verifies_and_locates_between_checkpoints() {
    let (_tmp, dir) = fresh();
    fs::remove_dir_all(dir.join("tile")).expect("remove");
    let r = verify(&dir);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.verified_size, N);
    let original = lines(&dir);
    for t in [Tamper::Letter, Tamper::Swap, Tamper::Insert] {
        for k in [0u64, 49, 50, 120, 199, 200, 298] {
            set_lines(&dir, &tampered(&original, t, k).expect("applies"));
            let r = verify(&dir);
            let p = r.problem.as_ref().expect("a problem");
            assert_eq!(
                (p.kind, p.index),
                (ProblemKind::EntryAltered, covered_before(k)),
                "{t:?} at {k}: {r:?}"
            );
            assert!(p.detail.contains("no hash tiles"), "{}", p.detail);
        }
    }
    // Deleted lines after the last checkpoint but one: the entries never reach the last size.
    set_lines(
        &dir,
        &tampered(&original, Tamper::Delete, 250).expect("applies"),
    );
    assert_eq!(problem(&verify(&dir)), (ProblemKind::EntryMissing, N - 1));
    // Appended lines are unsigned, as with tiles.
    let mut l = original.clone();
    l.push(original[0].clone());
    set_lines(&dir, &l);
    assert_eq!(problem(&verify(&dir)), (ProblemKind::Unsigned, N));
}

/// Ways of damaging a tile file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    Delete,
    /// A byte of the hash at this position in the tile flipped.
    Flip(usize),
    /// The last byte cut.
    Cut,
    /// A byte appended.
    Grow,
    /// Replaced by a directory.
    Dir,
}

fn damage(dir: &Path, file: &str, d: Damage) {
    let path = dir.join(file);
    match d {
        Damage::Delete => fs::remove_file(&path).expect("remove"),
        Damage::Flip(i) => {
            let mut bytes = fs::read(&path).expect("read");
            bytes[i * 32 + 7] ^= 0x20;
            fs::write(&path, bytes).expect("write");
        }
        Damage::Cut | Damage::Grow => {
            let mut bytes = fs::read(&path).expect("read");
            if matches!(d, Damage::Cut) {
                bytes.pop();
            } else {
                bytes.push(0);
            }
            fs::write(&path, bytes).expect("write");
        }
        Damage::Dir => {
            fs::remove_file(&path).expect("remove");
            fs::create_dir(&path).expect("mkdir");
        }
    }
}

/// The tile files of the 300-entry bundle, and every damage to each with the index a bundle
/// with untouched entries reports it at.
fn damages() -> Vec<(&'static str, Damage, u64)> {
    let mut out = Vec::new();
    for (file, first, width) in [
        ("tile/0/000", 0u64, 256usize),
        ("tile/0/001.p/44", 256, 44),
        ("tile/1/000.p/1", 0, 1),
    ] {
        for d in [Damage::Delete, Damage::Cut, Damage::Grow, Damage::Dir] {
            out.push((file, d, first));
        }
        let mut positions: Vec<usize> = vec![0, 1, width / 2, width - 1];
        positions.retain(|&i| i < width);
        positions.dedup();
        for i in positions {
            // A level-1 hash covers leaves 0 to 255.
            let at = if file.starts_with("tile/1") {
                0
            } else {
                first + i as u64
            };
            out.push((file, Damage::Flip(i), at));
        }
    }
    out
}

#[test]
fn a_damaged_tile_is_reported_when_the_entries_verify() {
    let (_tmp, dir) = fresh();
    assert_eq!(
        tile_files(&dir),
        BTreeSet::from([
            "tile/0/000".into(),
            "tile/0/001.p/44".into(),
            "tile/1/000.p/1".into()
        ])
    );
    for (file, d, at) in damages() {
        let (_tmp, dir) = fresh();
        damage(&dir, file, d);
        let r = verify(&dir);
        assert_eq!(
            problem(&r),
            (ProblemKind::BadTile, at),
            "{file} {d:?}: {r:?}"
        );
        assert_eq!(r.verified_size, N);
    }
    // No tile directory at all is an older bundle; a file in its place is a broken one.
    let (_tmp, dir) = fresh();
    fs::remove_dir_all(dir.join("tile")).expect("remove");
    fs::write(dir.join("tile"), b"x").expect("write");
    assert_eq!(problem(&verify(&dir)), (ProblemKind::BadTile, 0));
    // A narrower partial tile instead of the right one.
    let (_tmp, dir) = fresh();
    let p = dir.join("tile/0/001.p");
    let bytes = fs::read(p.join("44")).expect("read");
    fs::remove_file(p.join("44")).expect("remove");
    fs::write(p.join("40"), &bytes[..40 * 32]).expect("write");
    let r = verify(&dir);
    assert_eq!(problem(&r), (ProblemKind::BadTile, 296), "{r:?}");
    // Tiles beyond the last checkpoint are not read.
    let (_tmp, dir) = fresh();
    fs::write(dir.join("tile/0/002"), b"junk").expect("write");
    assert!(verify(&dir).is_ok());
}

#[test]
fn a_damaged_tile_never_hides_an_altered_entry() {
    let (_tmp, dir) = fresh();
    // The same bundle without tiles says what the checkpoints alone tell (the fallback).
    let (_tmp2, bare) = fresh();
    fs::remove_dir_all(bare.join("tile")).expect("remove");
    let original = lines(&dir);
    let tiles: Vec<(String, Vec<u8>)> = tile_files(&dir)
        .into_iter()
        .map(|f| {
            let bytes = fs::read(dir.join(&f)).expect("read");
            (f, bytes)
        })
        .collect();
    let (mut exact, mut coarse) = (0, 0);
    for (file, d, bad_tile) in damages() {
        damage(&dir, file, d);
        for t in ALL {
            // Before, inside and after the spans of each checkpoint and tile.
            for k in [0, 120, 199, 256, 299] {
                let Some(l) = tampered(&original, t, k) else {
                    continue;
                };
                set_lines(&dir, &l);
                set_lines(&bare, &l);
                let got = problem(&verify(&dir));
                let fallback = problem(&verify(&bare));
                let want = super::tampering::expected(t, k);
                if want.0 == ProblemKind::Unsigned {
                    // The entries verify, so the damaged tile is the first problem.
                    assert_eq!(
                        got,
                        (ProblemKind::BadTile, bad_tile),
                        "{file} {d:?} {t:?} {k}"
                    );
                    continue;
                }
                // Exactly located where the remaining tiles still reach a checkpoint after the
                // alteration, else just as without tiles.
                assert!(
                    got == want || got == fallback,
                    "{file} {d:?}, {t:?} at {k}: {got:?}, not {want:?} or {fallback:?}"
                );
                if got == want {
                    exact += 1;
                } else {
                    coarse += 1;
                }
            }
        }
        // Restore the tile.
        let path = dir.join(file);
        if path.is_dir() {
            fs::remove_dir(&path).expect("rmdir");
        }
        for (f, bytes) in &tiles {
            fs::write(dir.join(f), bytes).expect("restore");
        }
        set_lines(&dir, &original);
        assert!(verify(&dir).is_ok(), "restored after {file} {d:?}");
    }
    // Both happen: a damaged level-0 tile before the alteration forces the fallback, one after
    // the next checkpoint does not (nor does a damaged level-1 tile).
    assert!(exact > 0 && coarse > 0, "{exact} {coarse}");
}

#[test]
fn the_fallback_says_why_the_tiles_could_not_tell() {
    let (_tmp, dir) = fresh();
    let original = lines(&dir);
    let mut altered = original.clone();
    change_letter(&mut altered[120]);
    let altered_270 = {
        let mut l = original.clone();
        change_letter(&mut l[270]);
        l
    };
    let check = |lines: &[Vec<u8>], want: (ProblemKind, u64), says: &str| {
        set_lines(&dir, lines);
        let r = verify(&dir);
        let p = r.problem.as_ref().expect("a problem");
        assert_eq!((p.kind, p.index), want, "{r:?}");
        assert!(p.detail.contains(says), "{}", p.detail);
    };
    let full = dir.join("tile/0/000");
    let bytes = fs::read(&full).expect("read");

    // The first tile missing: the tiles verify nothing.
    fs::remove_file(&full).expect("remove");
    check(
        &altered,
        (ProblemKind::EntryAltered, 100),
        "tile/0/000 is missing or malformed",
    );
    fs::write(&full, &bytes).expect("restore");

    // The partial tile missing: the tiles still verify the checkpoint of 200, after entry 120,
    // but not the one of 300, after entry 270.
    let partial = dir.join("tile/0/001.p/44");
    let pbytes = fs::read(&partial).expect("read");
    fs::remove_file(&partial).expect("remove");
    check(
        &altered,
        (ProblemKind::EntryAltered, 120),
        "checkpoint of size 200 verifies",
    );
    check(
        &altered_270,
        (ProblemKind::EntryAltered, 200),
        "end at node 256",
    );
    fs::write(&partial, &pbytes).expect("restore");

    // A tile hash altered before the altered entry: the tiles differ from index 10 on.
    let mut b = bytes.clone();
    b[10 * 32] ^= 1;
    fs::write(&full, &b).expect("write");
    check(
        &altered,
        (ProblemKind::EntryAltered, 100),
        "from index 10 on",
    );
    // ...after it, but before the next checkpoint: they verify 100, not 200.
    let mut b = bytes.clone();
    b[130 * 32] ^= 1;
    fs::write(&full, &b).expect("write");
    check(
        &altered,
        (ProblemKind::EntryAltered, 100),
        "from index 120 on",
    );
    // ...after the next checkpoint: they verify 200, so entry 120 is located.
    let mut b = bytes.clone();
    b[230 * 32] ^= 1;
    fs::write(&full, &b).expect("write");
    check(
        &altered,
        (ProblemKind::EntryAltered, 120),
        "entry 120 is not the entry",
    );

    // Entry and tile altered alike: neither matches the checkpoints.
    let mut b = bytes.clone();
    b[120 * 32..121 * 32].copy_from_slice(&leaf_hash(&altered[120]));
    fs::write(&full, &b).expect("write");
    check(
        &altered,
        (ProblemKind::EntryAltered, 100),
        "same leaf hashes",
    );
    fs::write(&full, &bytes).expect("restore");

    // An altered level-1 tile does not keep the level-0 tiles from locating the entry.
    let level1 = dir.join("tile/1/000.p/1");
    fs::write(&level1, [0u8; 32]).expect("write");
    check(
        &altered,
        (ProblemKind::EntryAltered, 120),
        "entry 120 is not the entry",
    );
    check(
        &original,
        (ProblemKind::BadTile, 0),
        "tile/1/000.p/1 holds a wrong hash",
    );
}

#[test]
fn entries_beyond_the_tiles_are_unsigned_not_bad_tiles() {
    // A bundle written with more entries than its last checkpoint covers: the tiles go on past
    // it, unread, and the extra entries are unsigned.
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), 300, &[50, 260], &[]);
    let r = verify(tmp.path());
    assert_eq!(problem(&r), (ProblemKind::Unsigned, 260), "{r:?}");
    // No checkpoint at all.
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), 10, &[], &[]);
    assert_eq!(problem(&verify(tmp.path())), (ProblemKind::Unsigned, 0));
}

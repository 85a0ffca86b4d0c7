//! The local artifact store through its own API: round trips, and every escape attempt of the
//! path-traversal and local-file-inclusion CVE classes failing without touching anything outside.

use std::path::Path;

use keel_artifacts::{ArtifactPath, LocalArtifactStore};
use keel_core::ErrorCode;
use tokio::io::AsyncReadExt;

fn p(raw: &str) -> ArtifactPath {
    ArtifactPath::parse(raw).expect("valid path")
}

async fn store() -> (LocalArtifactStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalArtifactStore::open(&dir.path().join("root"))
        .await
        .expect("open");
    (store, dir)
}

async fn put(store: &LocalArtifactStore, path: &str, bytes: &[u8]) -> keel_core::Result<u64> {
    store.write(&p(path), &mut &bytes[..]).await
}

async fn get(store: &LocalArtifactStore, path: &str) -> keel_core::Result<Vec<u8>> {
    let (mut file, size) = store.open_file(&p(path)).await?;
    let mut out = Vec::new();
    file.read_to_end(&mut out).await.expect("read");
    assert_eq!(out.len() as u64, size);
    Ok(out)
}

fn code<T>(r: keel_core::Result<T>) -> Option<ErrorCode> {
    r.err().map(|e| e.code)
}

#[tokio::test]
async fn files_round_trip_through_nested_folders() {
    let (store, _dir) = store().await;
    assert_eq!(
        put(&store, "1/run/artifacts/a/b/data.bin", b"\x00\x01bytes")
            .await
            .ok(),
        Some(7)
    );
    assert_eq!(
        get(&store, "1/run/artifacts/a/b/data.bin").await.ok(),
        Some(b"\x00\x01bytes".to_vec())
    );
    assert_eq!(
        put(&store, "1/run/artifacts/a/b/data.bin", b"new")
            .await
            .ok(),
        Some(3)
    );
    assert_eq!(
        get(&store, "1/run/artifacts/a/b/data.bin").await.ok(),
        Some(b"new".to_vec())
    );
    put(&store, "1/run/artifacts/ünïcode 文件.txt", "ok".as_bytes())
        .await
        .expect("unicode");
    let listed = store.list(&p("1/run/artifacts")).await.expect("list");
    let names: Vec<(&str, bool, Option<u64>)> = listed
        .iter()
        .map(|f| (f.name.as_str(), f.is_dir, f.size))
        .collect();
    assert_eq!(
        names,
        vec![("a", true, None), ("ünïcode 文件.txt", false, Some(2))]
    );
}

#[tokio::test]
async fn missing_things_are_not_found_or_empty() {
    let (store, _dir) = store().await;
    assert_eq!(
        code(get(&store, "nope.txt").await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert!(
        store
            .list(&p("no/such/dir"))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        code(store.delete(&p("nope")).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
}

#[tokio::test]
async fn directories_are_not_files_and_the_root_is_protected() {
    let (store, _dir) = store().await;
    put(&store, "d/f", b"x").await.expect("write");
    assert_eq!(
        code(get(&store, "d").await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(put(&store, "d", b"x").await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(put(&store, "d/f/g", b"x").await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(store.write(&ArtifactPath::root(), &mut &b"x"[..]).await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(store.delete(&ArtifactPath::root()).await),
        Some(ErrorCode::InvalidParameterValue)
    );
}

#[tokio::test]
async fn delete_removes_files_and_whole_folders() {
    let (store, _dir) = store().await;
    put(&store, "e/1/a", b"a").await.expect("write");
    put(&store, "e/1/b/c", b"c").await.expect("write");
    store.delete(&p("e/1/a")).await.expect("delete file");
    assert_eq!(
        code(get(&store, "e/1/a").await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    store.delete(&p("e/1")).await.expect("delete folder");
    assert!(store.list(&p("e")).await.expect("list").is_empty());
}

/// A secret outside the root and a symlink to it planted inside the root.
async fn planted(store: &LocalArtifactStore, outside: &Path) {
    std::fs::create_dir_all(outside.join("secret-dir")).expect("mkdir");
    std::fs::write(outside.join("secret.txt"), b"top secret").expect("write secret");
    std::fs::create_dir_all(store.root().join("exp")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.join("secret.txt"),
        store.root().join("exp/link.txt"),
    )
    .expect("symlink file");
    std::os::unix::fs::symlink(outside.join("secret-dir"), store.root().join("exp/linkdir"))
        .expect("symlink dir");
}

#[tokio::test]
async fn symlinks_out_of_the_root_cannot_be_read_or_listed() {
    let (store, dir) = store().await;
    planted(&store, &dir.path().join("outside")).await;
    assert_eq!(
        code(get(&store, "exp/link.txt").await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert!(
        store
            .list(&p("exp/linkdir"))
            .await
            .expect("list")
            .is_empty()
    );
    let names: Vec<String> = store
        .list(&p("exp"))
        .await
        .expect("list")
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(
        names.is_empty(),
        "links out of the root are not listed: {names:?}"
    );
}

#[tokio::test]
async fn symlinks_out_of_the_root_cannot_be_written_through() {
    let (store, dir) = store().await;
    let outside = dir.path().join("outside");
    planted(&store, &outside).await;
    assert_eq!(
        code(put(&store, "exp/link.txt", b"pwned").await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(put(&store, "exp/linkdir/new.txt", b"pwned").await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).expect("secret"),
        b"top secret"
    );
    assert!(!outside.join("secret-dir/new.txt").exists());
}

#[tokio::test]
async fn deleting_a_symlink_never_touches_its_target() {
    let (store, dir) = store().await;
    let outside = dir.path().join("outside");
    planted(&store, &outside).await;
    store.delete(&p("exp/link.txt")).await.expect("delete link");
    store
        .delete(&p("exp/linkdir"))
        .await
        .expect("delete dir link");
    assert!(outside.join("secret.txt").exists());
    assert!(outside.join("secret-dir").is_dir());
    assert_eq!(
        code(store.delete(&p("exp/linkdir/x")).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
}

#[tokio::test]
async fn symlinks_inside_the_root_still_resolve() {
    let (store, _dir) = store().await;
    put(&store, "real/file.txt", b"inside")
        .await
        .expect("write");
    std::os::unix::fs::symlink(
        store.root().join("real/file.txt"),
        store.root().join("alias.txt"),
    )
    .expect("symlink");
    assert_eq!(
        get(&store, "alias.txt").await.ok(),
        Some(b"inside".to_vec())
    );
}

#[tokio::test]
async fn traversal_attempts_never_become_paths() {
    // Every CVE-class input is rejected at parse time, before a store sees it.
    for raw in [
        "../outside.txt",
        "1/../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows",
        "%2e%2e/%2e%2e/etc/passwd",
        "a%2f..%2f..%2fb",
        "file.txt\0.png",
        "x#/../../y",
        "x?path=../../y",
        "x;../../y",
        "C:/Windows/win.ini",
    ] {
        assert!(ArtifactPath::parse(raw).is_err(), "{raw:?}");
    }
}

#[tokio::test]
async fn concurrent_writers_of_one_file_leave_one_whole_version() {
    let (store, _dir) = store().await;
    let a = vec![b'a'; 256 * 1024];
    let b = vec![b'b'; 256 * 1024];
    let (ra, rb) = tokio::join!(put(&store, "race/f", &a), put(&store, "race/f", &b));
    assert!(ra.is_ok() && rb.is_ok());
    let got = get(&store, "race/f").await.expect("read");
    assert!(got == a || got == b, "a whole version, never a mix");
    let names: Vec<String> = store
        .list(&p("race"))
        .await
        .expect("list")
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(
        names,
        vec!["f".to_string()],
        "no temporary files left behind"
    );
}

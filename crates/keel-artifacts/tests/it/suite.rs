//! The `ArtifactStore` conformance suite: each case takes an empty store and checks one promise
//! of the trait. `main.rs` runs every case against every backend.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use keel_artifacts::{
    ArtifactPath, ArtifactStore, ByteStream, CompletedPart, FileInfo, PartNumber, UploadId,
};
use keel_core::ErrorCode;

const MIB: usize = 1024 * 1024;

fn p(raw: &str) -> ArtifactPath {
    ArtifactPath::parse(raw).expect("valid path")
}

/// Deterministic pseudo-random bytes (so a wrong offset or order cannot go unnoticed).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// `bytes` as a stream of `chunk`-sized pieces.
fn chunked(bytes: &[u8], chunk: usize) -> ByteStream {
    let pieces: Vec<std::io::Result<Bytes>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces).boxed()
}

fn body(bytes: &[u8]) -> ByteStream {
    chunked(bytes, 64 * 1024)
}

async fn collect(stream: ByteStream) -> Vec<u8> {
    stream
        .try_fold(Vec::new(), |mut acc, chunk| async move {
            acc.extend_from_slice(&chunk);
            Ok(acc)
        })
        .await
        .expect("read body")
}

async fn put(store: &dyn ArtifactStore, path: &str, bytes: &[u8]) {
    let written = store.write(&p(path), body(bytes)).await.expect("write");
    assert_eq!(written, bytes.len() as u64, "{path}");
}

async fn get(store: &dyn ArtifactStore, path: &str) -> keel_core::Result<Vec<u8>> {
    let download = store.open(&p(path), None, None).await?;
    let size = download.size;
    let bytes = collect(download.body).await;
    assert_eq!(bytes.len() as u64, size, "{path}");
    Ok(bytes)
}

fn code<T>(r: keel_core::Result<T>) -> Option<ErrorCode> {
    r.err().map(|e| e.code)
}

fn entries(listed: &[FileInfo]) -> Vec<(&str, bool, Option<u64>)> {
    listed
        .iter()
        .map(|f| (f.name.as_str(), f.is_dir, f.size))
        .collect()
}

pub async fn files_round_trip_and_list(store: &dyn ArtifactStore) {
    put(store, "1/run/artifacts/a/b/data.bin", b"\x00\x01bytes").await;
    put(store, "1/run/artifacts/ünïcode 文件 [1] 100%.txt", b"ok").await;
    put(store, "1/run/artifacts/top.txt", b"").await;
    assert_eq!(
        get(store, "1/run/artifacts/a/b/data.bin").await.ok(),
        Some(b"\x00\x01bytes".to_vec())
    );
    put(store, "1/run/artifacts/a/b/data.bin", b"new").await;
    assert_eq!(
        get(store, "1/run/artifacts/a/b/data.bin").await.ok(),
        Some(b"new".to_vec())
    );
    assert_eq!(
        get(store, "1/run/artifacts/top.txt").await.ok(),
        Some(Vec::new())
    );
    let listed = store.list(&p("1/run/artifacts")).await.expect("list");
    assert_eq!(
        entries(&listed),
        vec![
            ("a", true, None),
            ("top.txt", false, Some(0)),
            ("ünïcode 文件 [1] 100%.txt", false, Some(2)),
        ]
    );
    let root = store.list(&ArtifactPath::root()).await.expect("list root");
    assert_eq!(entries(&root), vec![("1", true, None)]);
    assert!(
        store
            .list(&p("1/run/artifacts/top.txt"))
            .await
            .expect("list a file")
            .is_empty(),
        "a file lists as empty"
    );
    assert_eq!(
        store
            .head(&p("1/run/artifacts/a/b/data.bin"))
            .await
            .map(|m| m.size)
            .ok(),
        Some(3)
    );
}

pub async fn ranges_and_versions(store: &dyn ArtifactStore) {
    let data = pattern(1000, 1);
    put(store, "r/f.bin", &data).await;
    let meta = store.head(&p("r/f.bin")).await.expect("head");
    assert_eq!(meta.size, 1000);
    let part = store
        .open(&p("r/f.bin"), Some(10..20), meta.version.as_deref())
        .await
        .expect("range");
    assert_eq!(part.size, 1000, "the whole file's size");
    assert_eq!(collect(part.body).await, data[10..20]);
    let tail = store
        .open(&p("r/f.bin"), Some(990..1000), None)
        .await
        .expect("tail");
    assert_eq!(collect(tail.body).await, data[990..]);
    // Replaced since the head: a read pinned to the old version fails instead of mixing.
    put(store, "r/f.bin", &pattern(999, 2)).await;
    assert_eq!(
        code(
            store
                .open(&p("r/f.bin"), Some(0..10), meta.version.as_deref())
                .await
        ),
        Some(ErrorCode::TemporarilyUnavailable)
    );
}

pub async fn missing_things_are_not_found_or_empty(store: &dyn ArtifactStore) {
    assert_eq!(
        code(get(store, "nope.txt").await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert_eq!(
        code(store.head(&p("no/such/file")).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert!(
        store
            .list(&p("no/such/dir"))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list(&ArtifactPath::root())
            .await
            .expect("list root")
            .is_empty()
    );
    assert_eq!(
        code(store.delete(&p("nope")).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert_eq!(
        code(store.delete(&ArtifactPath::root()).await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(store.write(&ArtifactPath::root(), body(b"x")).await),
        Some(ErrorCode::InvalidParameterValue)
    );
}

pub async fn delete_removes_files_and_whole_folders(store: &dyn ArtifactStore) {
    put(store, "e/1/a", b"a").await;
    put(store, "e/1/b/c", b"c").await;
    put(store, "e/1/b/d/e", b"e").await;
    put(store, "e/10/kept", b"k").await;
    put(store, "e/1.txt", b"k").await;
    store.delete(&p("e/1/a")).await.expect("delete file");
    assert_eq!(
        code(get(store, "e/1/a").await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    store.delete(&p("e/1")).await.expect("delete folder");
    let left = store.list(&p("e")).await.expect("list");
    assert_eq!(
        entries(&left),
        vec![("1.txt", false, Some(1)), ("10", true, None)],
        "siblings sharing a name prefix survive"
    );
    assert!(store.list(&p("e/1/b")).await.expect("list").is_empty());
}

pub async fn large_files_stream_both_ways(store: &dyn ArtifactStore) {
    // Larger than the object store's write buffer, so it goes up in several parts.
    let data = pattern(20 * MIB + 12_345, 3);
    let written = store
        .write(&p("big/model.bin"), chunked(&data, 61_440))
        .await
        .expect("write");
    assert_eq!(written, data.len() as u64);
    let download = store
        .open(&p("big/model.bin"), None, None)
        .await
        .expect("open");
    assert_eq!(download.size, data.len() as u64);
    let mut offset = 0;
    let mut body = download.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("chunk");
        assert!(
            chunk.len() <= 16 * MIB,
            "downloads stream in bounded chunks"
        );
        assert_eq!(
            &data[offset..offset + chunk.len()],
            &chunk[..],
            "at {offset}"
        );
        offset += chunk.len();
    }
    assert_eq!(offset, data.len());
}

pub async fn interrupted_writes_leave_nothing_behind(store: &dyn ArtifactStore) {
    put(store, "w/kept.bin", b"previous version").await;
    for (path, len) in [("w/new.bin", 1000), ("w/kept.bin", 9 * MIB)] {
        let data = pattern(len, 4);
        let broken = chunked(&data, 256 * 1024)
            .chain(futures_util::stream::iter([Err(std::io::Error::other(
                "client went away",
            ))]))
            .boxed();
        assert!(store.write(&p(path), broken).await.is_err(), "{path}");
    }
    assert_eq!(
        code(get(store, "w/new.bin").await),
        Some(ErrorCode::ResourceDoesNotExist),
        "no partial new file"
    );
    assert_eq!(
        get(store, "w/kept.bin").await.ok(),
        Some(b"previous version".to_vec()),
        "the old version stays whole"
    );
    let listed = store.list(&p("w")).await.expect("list");
    assert_eq!(entries(&listed), vec![("kept.bin", false, Some(16))]);
}

async fn upload_part(
    store: &dyn ArtifactStore,
    upload: &UploadId,
    n: i64,
    bytes: &[u8],
) -> CompletedPart {
    let part_number = PartNumber::new(n).expect("part number");
    let receipt = store
        .put_part(upload, part_number, body(bytes))
        .await
        .expect("put part");
    assert!(
        receipt.etag.starts_with('"') && receipt.etag.ends_with('"'),
        "{}",
        receipt.etag
    );
    CompletedPart {
        part_number,
        etag: receipt.etag,
    }
}

pub async fn multipart_round_trip(store: &dyn ArtifactStore) {
    let path = p("m/run/artifacts/weights.bin");
    let parts_data = [pattern(5 * MIB, 5), pattern(5 * MIB, 6), pattern(1234, 7)];
    let upload = store.create_multipart(&path).await.expect("create");
    // Parts arrive in any order, concurrently.
    let (third, first, second) = tokio::join!(
        upload_part(store, &upload, 3, &parts_data[2]),
        upload_part(store, &upload, 1, &parts_data[0]),
        upload_part(store, &upload, 2, &parts_data[1]),
    );
    assert_eq!(
        code(get(store, "m/run/artifacts/weights.bin").await),
        Some(ErrorCode::ResourceDoesNotExist),
        "nothing visible before completion"
    );
    assert_eq!(
        entries(&store.list(&ArtifactPath::root()).await.expect("list")),
        Vec::<(&str, bool, Option<u64>)>::new(),
        "staged parts are never listed"
    );
    store
        .complete_multipart(&path, &upload, &[first, second, third])
        .await
        .expect("complete");
    let expected = parts_data.concat();
    assert_eq!(
        get(store, "m/run/artifacts/weights.bin")
            .await
            .ok()
            .as_deref(),
        Some(&expected[..])
    );
    assert_eq!(
        entries(&store.list(&ArtifactPath::root()).await.expect("list")),
        vec![("m", true, None)],
        "no staging left behind"
    );
    assert_eq!(
        code(
            store
                .put_part(&upload, PartNumber::new(1).expect("valid"), body(b"late"))
                .await
        ),
        Some(ErrorCode::ResourceDoesNotExist),
        "a completed upload is gone"
    );
}

pub async fn multipart_checks_parts_and_etags(store: &dyn ArtifactStore) {
    let path = p("c/file.bin");
    let upload = store.create_multipart(&path).await.expect("create");
    let first = upload_part(store, &upload, 1, &pattern(5 * MIB, 8)).await;
    let retried = upload_part(store, &upload, 1, &pattern(5 * MIB, 9)).await;
    let small = upload_part(store, &upload, 2, b"tiny").await;
    let last = upload_part(store, &upload, 3, b"end").await;
    let invalid = |r: keel_core::Result<()>| code(r) == Some(ErrorCode::InvalidParameterValue);
    let forged = CompletedPart {
        etag: "\"0123456789abcdef0123456789abcdef\"".into(),
        ..retried.clone()
    };
    assert!(invalid(
        store
            .complete_multipart(&path, &upload, &[forged, small.clone()])
            .await
    ));
    assert!(
        invalid(
            store
                .complete_multipart(&path, &upload, &[first, small.clone()])
                .await
        ),
        "a part uploaded again completes only with its latest ETag"
    );
    assert!(
        invalid(
            store
                .complete_multipart(&path, &upload, &[small.clone(), retried.clone()])
                .await
        ),
        "parts must be in order"
    );
    assert!(
        invalid(
            store
                .complete_multipart(&path, &upload, &[retried.clone(), last.clone()])
                .await
        ),
        "no gaps"
    );
    assert_eq!(
        code(
            store
                .complete_multipart(&p("c/other.bin"), &upload, std::slice::from_ref(&retried))
                .await
        ),
        Some(ErrorCode::ResourceDoesNotExist),
        "an upload completes only at its own path"
    );
    // Complete with the parts as uploaded last: the tiny middle part is fine for local disk
    // but under the 5 MiB object storage minimum; either way the result is all or nothing.
    match store
        .complete_multipart(&path, &upload, &[retried, small, last])
        .await
    {
        Ok(()) => {
            let mut expected = pattern(5 * MIB, 9);
            expected.extend_from_slice(b"tinyend");
            assert_eq!(get(store, "c/file.bin").await.ok(), Some(expected));
        }
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{}", e.message);
            assert!(e.message.contains("at least"), "{}", e.message);
            assert_eq!(
                code(get(store, "c/file.bin").await),
                Some(ErrorCode::ResourceDoesNotExist)
            );
        }
    }
}

pub async fn multipart_abort_and_unknown_uploads(store: &dyn ArtifactStore) {
    let path = p("a/file.bin");
    let upload = store.create_multipart(&path).await.expect("create");
    let part = upload_part(store, &upload, 1, b"data").await;
    assert_eq!(
        code(store.abort_multipart(&p("a/other.bin"), &upload).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    store.abort_multipart(&path, &upload).await.expect("abort");
    assert_eq!(
        code(store.complete_multipart(&path, &upload, &[part]).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert_eq!(
        code(store.abort_multipart(&path, &upload).await),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    let never = UploadId::random().expect("random");
    assert_eq!(
        code(
            store
                .put_part(&never, PartNumber::new(1).expect("valid"), body(b"x"))
                .await
        ),
        Some(ErrorCode::ResourceDoesNotExist)
    );
    assert_eq!(
        code(store.create_multipart(&ArtifactPath::root()).await),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert!(
        store
            .list(&ArtifactPath::root())
            .await
            .expect("list")
            .is_empty(),
        "an aborted upload leaves nothing"
    );
}

pub async fn multipart_of_an_empty_file(store: &dyn ArtifactStore) {
    let path = p("z/empty.bin");
    let upload = store.create_multipart(&path).await.expect("create");
    store
        .complete_multipart(&path, &upload, &[])
        .await
        .expect("complete");
    assert_eq!(get(store, "z/empty.bin").await.ok(), Some(Vec::new()));
}

pub async fn stale_uploads_are_purged(store: &dyn ArtifactStore) {
    let upload = store
        .create_multipart(&p("s/file.bin"))
        .await
        .expect("create");
    upload_part(store, &upload, 1, b"data").await;
    assert_eq!(
        store
            .purge_stale_uploads(Duration::from_secs(3600))
            .await
            .ok(),
        Some(0),
        "a fresh upload is kept"
    );
    // Object stores keep modification times in whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        store.purge_stale_uploads(Duration::ZERO).await.ok(),
        Some(1)
    );
    assert_eq!(
        code(
            store
                .put_part(&upload, PartNumber::new(2).expect("valid"), body(b"x"))
                .await
        ),
        Some(ErrorCode::ResourceDoesNotExist)
    );
}

//! Signed URLs for direct access to objects (S3's query-string SigV4), as the reference's S3
//! repository hands them out: a download is an attachment named after the file (the
//! disposition is part of the signature), an upload binds its `Content-Type`.

use std::time::Duration;

use keel_core::{Error, Result};
use object_store::ObjectStoreExt;
use object_store::signer::{HeaderName, HeaderValue, Method, SignedUrlOptions};

use super::{ObjectArtifactStore, storage_err};
use crate::path::ArtifactPath;
use crate::store::{SignedRequest, cannot_sign};

fn signer(store: &ObjectArtifactStore) -> Result<&dyn object_store::signer::Signer> {
    store.signer.as_deref().ok_or_else(cannot_sign)
}

fn signing_err(path: &ArtifactPath, e: object_store::Error) -> Error {
    Error::internal(format!("cannot sign a URL for artifact '{path}': {e}"))
}

/// `GET` the file until `expires_in` passes; with its size (read first, so a missing file or a
/// directory is `RESOURCE_DOES_NOT_EXIST`).
pub(super) async fn download(
    store: &ObjectArtifactStore,
    path: &ArtifactPath,
    expires_in: Duration,
) -> Result<(SignedRequest, u64)> {
    let signer = signer(store)?;
    let key = store.key(path)?;
    let meta = store
        .store
        .head(&key)
        .await
        .map_err(|e| storage_err("read", path, e))?;
    let name = path.segments().last().map_or("", String::as_str);
    let options =
        SignedUrlOptions::new().with_query([("response-content-disposition", attachment(name))]);
    let url = signer
        .signed_url_opts(Method::GET, &key, expires_in, &options)
        .await
        .map_err(|e| signing_err(path, e))?;
    Ok((
        SignedRequest {
            url: url.to_string(),
            headers: Vec::new(),
        },
        meta.size,
    ))
}

/// `PUT` the file with `content_type` until `expires_in` passes.
pub(super) async fn upload(
    store: &ObjectArtifactStore,
    path: &ArtifactPath,
    content_type: &str,
    expires_in: Duration,
) -> Result<SignedRequest> {
    let signer = signer(store)?;
    let key = store.key(path)?;
    let value = HeaderValue::from_str(content_type)
        .map_err(|_| Error::invalid(format!("Invalid content type '{content_type}'")))?;
    let options =
        SignedUrlOptions::new().with_signed_header(HeaderName::from_static("content-type"), value);
    let url = signer
        .signed_url_opts(Method::PUT, &key, expires_in, &options)
        .await
        .map_err(|e| signing_err(path, e))?;
    Ok(SignedRequest {
        url: url.to_string(),
        headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
    })
}

/// `Content-Disposition` of a download named `name`, as the reference's S3 repository writes
/// it: a printable ASCII name quoted (with `\` and `"` escaped), any other percent-encoded
/// as RFC 5987's `filename*`.
fn attachment(name: &str) -> String {
    if name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("attachment; filename=\"{escaped}\"")
    } else {
        let encoded: String = name
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' | b'/' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("attachment; filename*=UTF-8''{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_follow_the_reference() {
        assert_eq!(
            attachment("hello.txt"),
            "attachment; filename=\"hello.txt\""
        );
        assert_eq!(
            attachment("a\"b\\c d.txt"),
            "attachment; filename=\"a\\\"b\\\\c d.txt\""
        );
        assert_eq!(
            attachment("résumé \"q\".txt"),
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22q%22.txt"
        );
    }
}

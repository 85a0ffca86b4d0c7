//! A request body that hashes what passes through it, so an audit entry can carry the SHA-256
//! of the body its handler read without the body being buffered for it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use keel_core::audit::scope::Scope;
use sha2::{Digest, Sha256};

/// Hashes the data frames of `inner`; at the end of the stream the digest goes into `scope`'s
/// record (a body read only in part leaves no digest).
pub struct HashingBody {
    inner: Body,
    hasher: Option<Sha256>,
    seen: u64,
    scope: Arc<Scope>,
}

impl HashingBody {
    pub fn wrap(inner: Body, scope: Arc<Scope>) -> Body {
        Body::new(Self {
            inner,
            hasher: Some(Sha256::new()),
            seen: 0,
            scope,
        })
    }
}

impl HashingBody {
    fn finish(&mut self) {
        if let Some(hasher) = self.hasher.take() {
            if self.seen > 0 {
                self.scope.set_body_digest(hex(&hasher.finalize()));
            }
        }
    }
}

impl http_body::Body for HashingBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(hasher)) = (frame.data_ref(), this.hasher.as_mut()) {
                    hasher.update(data);
                    this.seen += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) => this.hasher = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Lowercase hex (the artifact store's, shared).
pub use keel_artifacts::multipart::hex;

/// The SHA-256 of a buffered body, as an entry writes it (`None` for an empty body).
pub fn digest(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| hex(&Sha256::digest(bytes)))
}

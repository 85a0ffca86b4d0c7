//! Responses whose JSON array is written as its items are read, a page at a time, so a reply of
//! millions of items (a metric's whole history, a trace's spans) is never held in memory whole.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use keel_core::Metric;
use keel_core::traces::TraceSpan;
use keel_core::traces::service::TraceReader;
use keel_core::tracking::HistoryReader;

/// Something read a page at a time.
pub trait Pages: Send + 'static {
    type Item: Send;
    /// The next page; `None` after the last.
    fn next_page(
        &mut self,
    ) -> impl Future<Output = keel_core::Result<Option<Vec<Self::Item>>>> + Send;
}

impl Pages for TraceReader {
    type Item = TraceSpan;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = keel_core::Result<Option<Vec<TraceSpan>>>> + Send {
        TraceReader::next_page(self)
    }
}

impl Pages for HistoryReader {
    type Item = Metric;
    fn next_page(&mut self) -> impl Future<Output = keel_core::Result<Option<Vec<Metric>>>> + Send {
        HistoryReader::next_page(self)
    }
}

/// A JSON response `head` + the items of `pages` (comma-separated, each written by `render`) +
/// `tail`. A read that fails once the status is sent ends the body with an error, so the client
/// sees a broken response rather than a silently short one.
pub fn json_array<P: Pages>(
    head: String,
    pages: P,
    render: fn(P::Item, &mut Vec<u8>),
    tail: &'static str,
) -> Response {
    let items = futures_util::stream::unfold(
        (pages, true, false),
        move |(mut pages, first, failed)| async move {
            if failed {
                return None;
            }
            match pages.next_page().await {
                Ok(Some(page)) => {
                    let mut chunk = Vec::with_capacity(page.len() * 128);
                    // Items are rendered as they are taken, never copied.
                    for (i, item) in page.into_iter().enumerate() {
                        if !(first && i == 0) {
                            chunk.push(b',');
                        }
                        render(item, &mut chunk);
                    }
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(chunk)),
                        (pages, false, false),
                    ))
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "reading a page failed mid-response");
                    Some((Err(std::io::Error::other(e.message)), (pages, false, true)))
                }
            }
        },
    );
    let body = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(items)
        .chain(futures_util::stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }));
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

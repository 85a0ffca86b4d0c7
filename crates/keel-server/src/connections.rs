//! Accepting connections under limits, for HTTP/1.1 and HTTP/2, in clear or over TLS: a
//! connection cap answered with a clear 503 (in clear; a TLS connection over the cap is closed),
//! a TLS handshake deadline, header-read, body-read and idle timeouts, small per-connection buffers,
//! MLflow-shaped JSON bodies on hyper's own protocol errors (414, 431, 400), and a graceful drain
//! of every connection on shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::tls::ServerTls;

/// Limits on connections and how long a client may keep one busy without making progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; a connection over the limit gets a 503 and is closed.
    pub max_connections: usize,
    /// An HTTP/1.1 request's headers must arrive whole within this time.
    pub header_read_timeout: Duration,
    /// A request body must deliver its next chunk within this time.
    pub body_read_timeout: Duration,
    /// A connection with no request in progress and no traffic for this long is closed; so is
    /// one whose client stops reading a response for this long.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The largest HTTP/1.1 read buffer of a connection: room for hyper's longest URI (64 KiB) and
/// the headers, far below hyper's default of ~400 KiB, so trickling clients stay cheap.
const MAX_READ_BUFFER: usize = 96 * 1024;
/// HTTP/2: concurrent streams per connection, and flow-control windows (what a client may send
/// before the server reads it).
const H2_MAX_STREAMS: u32 = 100;
const H2_STREAM_WINDOW: u32 = 256 * 1024;
const H2_CONN_WINDOW: u32 = 512 * 1024;
/// How long a connection told to close (shutdown or idle) may take to finish on its own.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` under `limits`, over TLS when `tls` is set, until `shutdown`
/// resolves, then lets in-flight requests finish (up to `grace`) before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let app = app.layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout));
    let builder = Arc::new(builder(&limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused_logged = false;
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !refused_logged {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached; refusing new connections with 503"
                );
                refused_logged = true;
            }
            if tls.is_none() {
                refuse(&stream, limits.max_connections);
            }
            continue;
        };
        refused_logged = false;
        let _ = stream.set_nodelay(true);
        let (builder, app, stop) = (builder.clone(), app.clone(), stop_rx.clone());
        let acceptor = tls.as_ref().map(|t| t.acceptor().clone());
        connections.spawn(async move {
            let served = Served {
                builder: &builder,
                peer,
                app,
                idle_timeout: limits.idle_timeout,
                stop,
            };
            match acceptor {
                None => served.serve(stream, false).await,
                Some(acceptor) => {
                    // The handshake is held to the same deadline as a request's headers.
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => served.serve(stream, true).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(
        grace_secs = grace.as_secs(),
        connections = connections.len(),
        "shutting down; finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish within the grace period");
        connections.shutdown().await;
    }
    Ok(())
}

fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_READ_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONN_WINDOW)
        .keep_alive_interval(None);
    builder
}

/// Answers a connection over the limit with a 503 (written without waiting: the socket's
/// send buffer is empty) and closes it.
fn refuse(stream: &TcpStream, max_connections: usize) {
    let response = json_response(
        503,
        "Service Unavailable",
        "TEMPORARILY_UNAVAILABLE",
        &format!(
            "The server has reached its limit of {max_connections} open connections; retry \
             shortly."
        ),
        &["retry-after: 1"],
    );
    let _ = stream.try_write(&response);
}

/// The status of `bytes` if they are exactly one of hyper's automatic 4xx responses.
fn automatic_error_status(bytes: &[u8]) -> Option<u16> {
    if bytes.len() > 256 {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.strip_prefix("HTTP/1.1 4")?;
    let status: u16 = status_line.get(..2)?.parse().ok()?;
    let only_known_headers = lines.all(|l| {
        let l = l.to_ascii_lowercase();
        l == "content-length: 0" || l == "connection: close" || l.starts_with("date: ")
    });
    only_known_headers.then_some(400 + status)
}

/// A complete HTTP/1.1 response with an MLflow error body that closes the connection.
fn json_response(
    status: u16,
    reason: &str,
    error_code: &str,
    message: &str,
    extra_headers: &[&str],
) -> Vec<u8> {
    let body = serde_json::json!({"error_code": error_code, "message": message}).to_string();
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n",
        body.len()
    );
    for h in extra_headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// The address a request's connection comes from, as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// Present as a request extension when the request came over TLS served by Keel itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedOverTls;

/// What serving one accepted connection needs.
struct Served<'a> {
    builder: &'a auto::Builder<TokioExecutor>,
    peer: std::net::SocketAddr,
    app: Router,
    idle_timeout: Duration,
    stop: watch::Receiver<bool>,
}

impl Served<'_> {
    /// Serves one connection until it ends, is idle for too long, or the server shuts down.
    async fn serve<S>(self, stream: S, tls: bool)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Served {
            builder,
            peer,
            app,
            idle_timeout,
            mut stop,
        } = self;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
            replacing: None,
        });
        let counted = activity.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let guard = InFlight::begin(counted.clone());
            let app = app.clone();
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ClientAddr(peer));
            if tls {
                req.extensions_mut().insert(ServedOverTls);
            }
            async move {
                let response = app.oneshot(req).await;
                // The request stays in flight until its response body is fully sent or dropped.
                response.map(|r| {
                    r.map(|body| {
                        Body::new(GuardedBody {
                            body,
                            _guard: guard,
                        })
                    })
                })
            }
        });
        let conn = builder.serve_connection(io, service);
        let mut conn = std::pin::pin!(conn);
        let check_every = (idle_timeout / 4).max(Duration::from_millis(250));
        // Told to close because it idled: it gets CLOSE_GRACE to finish, then it is dropped. Told
        // to close by a shutdown: in-flight requests get the server's grace period instead.
        let mut idle_close_at: Option<Instant> = None;
        let mut stopping = false;
        loop {
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        conn.as_mut().graceful_shutdown();
                        stopping = true;
                    }
                }
                () = tokio::time::sleep(check_every), if !stopping => {
                    match idle_close_at {
                        Some(at) if at.elapsed() > CLOSE_GRACE => return,
                        Some(_) => {}
                        None if activity.stalled_for(idle_timeout) => {
                            conn.as_mut().graceful_shutdown();
                            idle_close_at = Some(Instant::now());
                        }
                        None => {}
                    }
                }
            }
        }
    }
}

/// What a connection is doing: when bytes last moved, how many requests are being served, and
/// whether a write is waiting on the client.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    write_blocked: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            write_blocked: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Idle (no request in progress) or stuck on a client that does not read, for `limit`.
    fn stalled_for(&self, limit: Duration) -> bool {
        let now = self.start.elapsed();
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        let quiet = now.saturating_sub(last) > limit;
        let idle = self.in_flight.load(Ordering::Relaxed) == 0;
        quiet && (idle || self.write_blocked.load(Ordering::Relaxed))
    }
}

/// Marks one request in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request in flight while it is being sent.
struct GuardedBody {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection's stream (TCP, or TLS over it) with its [`Activity`] recorded, and hyper's automatic error responses (sent
/// with an empty body for a request it could not parse) given an MLflow JSON body.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    /// A rewritten automatic response still being written, and how much of it is out, with the
    /// length of hyper's original to report once it is all written.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// hyper writes outside a request only for its automatic HTTP/1.1 error responses, which
    /// are a status line, `content-length: 0`, `date` and nothing else; exactly that form is
    /// rewritten, so no response body can be mistaken for one.
    fn automatic_error(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if self.activity.in_flight.load(Ordering::Relaxed) != 0 {
            return None;
        }
        let status = automatic_error_status(bytes)?;
        let (reason, message) = match status {
            414 => (
                "URI Too Long",
                "The request URI is too long; the limit is 65,534 bytes.",
            ),
            431 => (
                "Request Header Fields Too Large",
                "The request headers are too large.",
            ),
            _ => ("Bad Request", "The request is not valid HTTP/1.1."),
        };
        Some(json_response(status, reason, "BAD_REQUEST", message, &[]))
    }

    /// Writes the rest of a rewritten response; `Ready(n)` reports hyper's original length.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, original)) = &mut self.replacing {
            if *written == bytes.len() {
                let n = *original;
                self.replacing = None;
                return Poll::Ready(Ok(n));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
            self.activity.touch();
        }
        Poll::Ready(Ok(0))
    }

    fn track_write(&self, result: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match &result {
            Poll::Pending => self.activity.write_blocked.store(true, Ordering::Relaxed),
            Poll::Ready(res) => {
                self.activity.write_blocked.store(false, Ordering::Relaxed);
                if matches!(res, Ok(n) if *n > 0) {
                    self.activity.touch();
                }
            }
        }
        result
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            if let Some(bytes) = self.automatic_error(buf) {
                self.replacing = Some((bytes, 0, buf.len()));
            }
        }
        let res = if self.replacing.is_some() {
            self.poll_replacement(cx)
        } else {
            Pin::new(&mut self.inner).poll_write(cx, buf)
        };
        self.track_write(res)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let idle = self.activity.in_flight.load(Ordering::Relaxed) == 0;
        if self.replacing.is_none() && idle && total <= 256 {
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if let Some(bytes) = self.automatic_error(&joined) {
                self.replacing = Some((bytes, 0, total));
            }
        }
        let res = if self.replacing.is_some() {
            self.poll_replacement(cx)
        } else {
            Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
        };
        self.track_write(res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_responses_are_complete_http() {
        let r = json_response(503, "Service Unavailable", "X", "m", &["retry-after: 1"]);
        let text = String::from_utf8(r).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("retry-after: 1"));
        assert_eq!(body, r#"{"error_code":"X","message":"m"}"#);
    }

    #[test]
    fn only_hypers_exact_automatic_responses_are_recognized() {
        let date = "date: Thu, 03 Dec 2026 11:00:00 GMT";
        let auto = format!("HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        assert_eq!(automatic_error_status(auto.as_bytes()), Some(414));
        let h431 = format!("HTTP/1.1 431 Request Header Fields Too Large\r\n{date}\r\n\r\n");
        assert_eq!(automatic_error_status(h431.as_bytes()), Some(431));
        for not in [
            format!("HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n{date}\r\n\r\n"),
            format!("HTTP/1.1 414 URI Too Long\r\n{date}\r\n\r\nbody"),
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_owned(),
            "HTTP/1.1 4".to_owned(),
        ] {
            assert_eq!(automatic_error_status(not.as_bytes()), None, "{not}");
        }
    }

    #[test]
    fn stalls_need_quiet_and_no_request_or_a_blocked_write() {
        let a = Activity::new();
        std::thread::sleep(Duration::from_millis(20));
        assert!(a.stalled_for(Duration::from_millis(5)));
        a.in_flight.store(1, Ordering::Relaxed);
        assert!(!a.stalled_for(Duration::from_millis(5)));
        a.write_blocked.store(true, Ordering::Relaxed);
        assert!(a.stalled_for(Duration::from_millis(5)));
        a.touch();
        assert!(!a.stalled_for(Duration::from_millis(5)));
    }
}

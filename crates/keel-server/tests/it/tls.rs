//! TLS served by Keel itself: HTTP/2 and HTTP/1.1 over it, the handshake deadline, and
//! clients that speak plain HTTP or nothing at all to a TLS port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_server::ConnectionLimits;
use keel_server::tls::ServerTls;
use tokio::io::AsyncWriteExt;

use crate::connections::{Served, quick, read_to_close};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn server_tls() -> ServerTls {
    ServerTls::load(&fixture("a.crt"), &fixture("a.key")).expect("fixture pair")
}

/// A client that trusts only the fixtures' test CA and reaches `localhost` at the server.
fn client(served: &Served, http1_only: bool) -> reqwest::Client {
    let pem = std::fs::read(fixture("ca.crt")).expect("fixture");
    let cert = reqwest::Certificate::from_pem(&pem).expect("certificate");
    let builder = reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve("localhost", served.addr());
    let builder = if http1_only {
        builder.http1_only()
    } else {
        builder
    };
    builder.build().expect("client")
}

#[tokio::test]
async fn https_serves_http2_by_alpn_and_http1_on_request() {
    let served = Served::start_with(quick(), Some(server_tls())).await;
    let url = format!("https://localhost:{}/health", served.addr().port());
    for (http1_only, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        let response = client(&served, http1_only)
            .get(&url)
            .send()
            .await
            .expect("https request");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), version);
        assert_eq!(response.text().await.expect("body"), "OK");
    }
    served.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_completes_the_handshake_is_closed() {
    let served = Served::start_with(quick(), Some(server_tls())).await;
    let mut silent = served.connect().await;
    // Nothing sent: the handshake deadline (the header-read timeout, 1 s here) closes it.
    let got = read_to_close(&mut silent, "a silent TLS client").await;
    assert!(got.is_empty(), "{got:?}");
    served.shutdown().await;
}

#[tokio::test]
async fn plain_http_to_a_tls_port_gets_no_http_response() {
    let served = Served::start_with(quick(), Some(server_tls())).await;
    let mut plain = served.connect().await;
    plain
        .write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .expect("write");
    let got = read_to_close(&mut plain, "a plain HTTP client").await;
    assert!(!got.contains("HTTP/1.1"), "{got:?}");
    served.shutdown().await;
}

#[tokio::test]
async fn tls_connections_over_the_limit_are_closed_without_a_plaintext_reply() {
    let served = Served::start_with(
        ConnectionLimits {
            max_connections: 1,
            ..ConnectionLimits::default()
        },
        Some(server_tls()),
    )
    .await;
    let _held = served.connect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = served.connect().await;
    let got = read_to_close(&mut over, "a connection over the limit").await;
    assert!(got.is_empty(), "{got:?}");
    served.shutdown().await;
}

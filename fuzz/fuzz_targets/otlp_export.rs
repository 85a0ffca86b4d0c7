//! OTLP/HTTP export bodies: inflating (gzip, deflate, identity) within the cap, decoding
//! protobuf or OTLP/JSON, and converting to domain spans. Every span is either taken or counted
//! as rejected, and inflating never yields more than the cap.
#![no_main]

use keel_server::wire::otlp::{self, Encoding};
use libfuzzer_sys::fuzz_target;

/// A small cap, so bombs are found quickly.
const CAP: usize = 1 << 20;
const ENCODINGS: [&str; 4] = ["identity", "gzip", "deflate", "x-gzip"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let content_encoding = ENCODINGS[usize::from(mode & 3)];
    let encoding = if mode & 4 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let Ok(raw) = otlp::decompress(body, Some(content_encoding), CAP) else {
        return;
    };
    assert!(raw.len() <= CAP, "inflated past the cap");
    let Ok(request) = otlp::decode_request(&raw, encoding) else {
        return;
    };
    let sent: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let received = otlp::received_spans(request);
    let rejected = usize::try_from(received.rejected).expect("a count");
    assert_eq!(
        received.spans.len() + rejected,
        sent,
        "every span is taken or rejected"
    );
    assert_eq!(received.rejection.is_some(), rejected > 0);
    for span in &received.spans {
        assert!(!span.span.name.contains('\0'), "a span with NUL was taken");
    }
    let _ = otlp::encode_response(encoding, received.rejected, received.rejection);
});

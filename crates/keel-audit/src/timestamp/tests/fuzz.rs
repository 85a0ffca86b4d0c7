//! Random and mutated input to every parser: errors, never panics.

use der::Decode;
use proptest::collection::vec;
use proptest::prelude::*;

use super::super::rfc3161::{PkiStatusInfo, TimeStampReq, TstInfo};
use super::super::{TimestampRequest, TrustAnchors, cms, token, verify};
use super::pki::{KeyKind, TsaOptions};
use super::{NOTE, Setup};

/// Feeds `bytes` to every entry point and internal parser.
fn feed(bytes: &[u8], request: &TimestampRequest, anchors: &TrustAnchors) {
    let _ = verify(bytes, NOTE, anchors);
    let _ = request.accept(bytes);
    let _ = TrustAnchors::from_pem(bytes);
    let _ = token::parse_token(bytes);
    let _ = cms::parse_signed_data(bytes);
    let _ = cms::parse_attributes(bytes);
    let _ = TstInfo::from_der(bytes);
    let _ = TimeStampReq::from_der(bytes);
    let _ = PkiStatusInfo::from_der(bytes);
}

#[test]
fn parsers_never_panic() {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
    let token_der = token::parse_response(&reply)
        .expect("reply")
        .token
        .expect("token")
        .to_vec();
    let anchors = setup.anchors();
    let config = ProptestConfig::with_cases(256);

    proptest!(config.clone(), |(bytes in vec(any::<u8>(), 0..1024))| {
        feed(&bytes, &request, &anchors);
        // The same behind a plausible outer SEQUENCE header, to get past the first check.
        let mut wrapped = vec![0x30, 0x82, (bytes.len() >> 8) as u8, bytes.len() as u8];
        wrapped.extend(&bytes);
        feed(&wrapped, &request, &anchors);
    });

    proptest!(config.clone(), |(edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6))| {
        for original in [&reply, &token_der] {
            let mut mutated = original.clone();
            for (index, value) in &edits {
                let at = index.index(mutated.len());
                mutated[at] = *value;
            }
            feed(&mutated, &request, &anchors);
        }
    });

    proptest!(config, |(cut in any::<prop::sample::Index>(), insert in vec(any::<u8>(), 0..16))| {
        let at = cut.index(reply.len());
        let mut spliced = reply[..at].to_vec();
        spliced.extend(&insert);
        spliced.extend(&reply[at..]);
        feed(&spliced, &request, &anchors);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            String::from_utf8_lossy(&insert)
        );
        let _ = TrustAnchors::from_pem(pem.as_bytes());
    });
}

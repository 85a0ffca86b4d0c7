//! Replies that must be accepted and verify, with `openssl ts -verify` agreeing.

use std::time::{SystemTime, UNIX_EPOCH};

use der::Decode;

use super::super::rfc3161::TimeStampReq;
use super::super::{TimestampRequest, TrustAnchors, token, verify};
use super::craft::Crafted;
use super::pki::{CA_EXTENSIONS, Identity, KeyKind, POLICY, Pki, TSA_EXTENSIONS, Tsa, TsaOptions};
use super::{NOTE, Setup};

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_millis()).expect("in range")
}

/// Asserts that a `genTime` is within ten minutes of now.
fn assert_recent(gen_time_unix_ms: i64) {
    let skew = (now_ms() - gen_time_unix_ms).abs();
    assert!(skew < 10 * 60 * 1000, "genTime is {skew} ms away from now");
}

#[test]
fn request_der_is_what_openssl_ts_query_builds() {
    let pki = Pki::new();
    let data = pki.write("note", NOTE);
    let query = pki.file("query.tsq");
    pki.openssl(&[
        "ts",
        "-query",
        "-data",
        super::pki::path(&data),
        "-sha256",
        "-cert",
        "-out",
        super::pki::path(&query),
    ]);
    let openssl_der = std::fs::read(query).expect("read query");
    let openssl_query = TimeStampReq::from_der(&openssl_der).expect("openssl's query decodes");
    let nonce = openssl_query
        .nonce
        .as_ref()
        .expect("openssl sends a nonce")
        .as_bytes();
    assert!(nonce.len() <= 8, "a 64-bit nonce");
    let nonce = nonce.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    let ours = TimestampRequest::with_nonce(NOTE, nonce).expect("request");
    assert_eq!(ours.der(), openssl_der.as_slice());

    let fresh = TimestampRequest::new(NOTE).expect("request");
    let text = pki.openssl(&[
        "ts",
        "-query",
        "-in",
        super::pki::path(&pki.write("ours.tsq", fresh.der())),
        "-text",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    // openssl pads the nonce to whole bytes (`0x0D88...` when the top nibble is 0).
    let printed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Nonce: 0x"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    assert_eq!(printed, Some(fresh.nonce()), "{text}");
    assert_ne!(
        fresh.nonce(),
        TimestampRequest::new(NOTE).expect("request").nonce()
    );
}

#[test]
fn rsa_tsa_reply_is_accepted_and_verifies_like_openssl() {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::Rsa);
    let tsa = setup.tsa(&TsaOptions::default());
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = tsa.reply(request.der());

    let token = request.accept(&reply).expect("accepted");
    assert_eq!(token.response_der(), reply.as_slice());
    let info = verify(token.response_der(), NOTE, &setup.anchors()).expect("verifies");
    assert!(
        setup
            .pki
            .openssl_verifies(&reply, false, NOTE, &setup.root.cert)
    );

    assert_recent(info.gen_time_unix_ms);
    assert!(
        info.gen_time.ends_with('Z') && info.gen_time.len() == 20,
        "{}",
        info.gen_time
    );
    assert_eq!(info.policy, POLICY);
    // openssl's serial file holds the last serial used.
    assert_eq!(info.serial_number, "02");
    assert_eq!(info.tsa_name.as_deref(), Some("CN=Keel Test TSA"));
    assert_eq!(info.signer, "CN=Keel Test TSA");
    assert_eq!(info.chain, ["CN=Keel Test TSA", "CN=Keel Test Root"]);
    assert_eq!(info.accuracy_micros, Some(1_500_100));
}

#[test]
fn p256_tsa_under_p384_intermediate_verifies_like_openssl() {
    let pki = Pki::new();
    let root = pki.root("Keel Test Root", KeyKind::P384);
    let intermediate = pki.issue(
        "Keel Test Intermediate",
        KeyKind::P384,
        &root,
        CA_EXTENSIONS,
    );
    let signer = pki.issue(
        "Keel Test TSA",
        KeyKind::P256,
        &intermediate,
        TSA_EXTENSIONS,
    );
    let options = TsaOptions {
        signer_digest: "sha384",
        ess_cert_id_alg: "sha256",
        clock_precision_digits: 3,
    };
    let tsa = Tsa::new(&pki, signer, &[&intermediate, &root], &options);
    let anchors = TrustAnchors::from_pem(&root.cert_pem()).expect("anchors");
    for _ in 0..3 {
        let request = TimestampRequest::new(NOTE).expect("request");
        let reply = tsa.reply(request.der());
        let token = request.accept(&reply).expect("accepted");
        let info = verify(token.response_der(), NOTE, &anchors).expect("verifies");
        assert!(pki.openssl_verifies(&reply, false, NOTE, &root.cert));
        assert_recent(info.gen_time_unix_ms);
        assert_eq!(
            info.chain,
            [
                "CN=Keel Test TSA",
                "CN=Keel Test Intermediate",
                "CN=Keel Test Root"
            ]
        );
        // Three fraction digits at most, trailing zeros dropped (DER), or none.
        let fraction = info
            .gen_time
            .trim_end_matches('Z')
            .split('.')
            .nth(1)
            .unwrap_or("");
        assert!(
            fraction.len() <= 3 && !fraction.ends_with('0'),
            "{}",
            info.gen_time
        );
        assert_eq!(
            info.gen_time_unix_ms % 1000,
            format!("{fraction:0<3}").parse::<i64>().expect("digits")
        );
    }
}

#[test]
fn bare_token_verifies_like_openssl_token_in() {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let tsa = setup.tsa(&TsaOptions::default());
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = tsa.reply(request.der());
    let token = tsa.token_of(&reply);
    let from_token = verify(&token, NOTE, &setup.anchors()).expect("token verifies");
    let from_reply = verify(&reply, NOTE, &setup.anchors()).expect("reply verifies");
    assert_eq!(from_token, from_reply);
    assert!(
        setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );
}

#[test]
fn anchor_bundle_with_comments_and_other_cas() {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let other = setup.pki.root("Another Root", KeyKind::P256);
    let mut bundle = b"# Another Root\n".to_vec();
    bundle.extend(other.cert_pem());
    bundle.extend(b"\n# Keel Test Root\n");
    bundle.extend(setup.root.cert_pem());
    let anchors = TrustAnchors::from_pem(&bundle).expect("anchors");
    assert_eq!(anchors.len(), 2);
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
    verify(&reply, NOTE, &anchors).expect("verifies with a bundle");
}

#[test]
fn tsa_certificate_itself_may_be_the_anchor() {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
    let anchors = TrustAnchors::from_pem(&setup.tsa.cert_pem()).expect("anchors");
    let info = verify(&reply, NOTE, &anchors).expect("verifies");
    assert_eq!(info.chain, ["CN=Keel Test TSA"]);
}

/// A `TSTInfo` for [`NOTE`] from an openssl TSA (its TSA name is "CN=Keel Test TSA"), and a
/// second signer named `name`, with a key of `kind` and `extensions`, issued by the same root
/// before the `TSTInfo` was made (so that it is valid at its `genTime`).
pub fn openssl_tst_info(name: &str, kind: KeyKind, extensions: &str) -> (Setup, Identity, Vec<u8>) {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let signer = setup.pki.issue(name, kind, &setup.root, extensions);
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
    let token_der = token::parse_response(&reply)
        .expect("reply")
        .token
        .expect("token")
        .to_vec();
    let tst_info = token::parse_token(&token_der)
        .expect("token")
        .tst_info_der
        .to_vec();
    (setup, signer, tst_info)
}

/// A token signed in Rust by an Ed25519 TSA certificate from the setup's openssl root.
pub fn ed25519_crafted() -> (Setup, Crafted) {
    let (setup, signer, tst_info) =
        openssl_tst_info("Keel Test TSA", KeyKind::Ed25519, TSA_EXTENSIONS);
    let cert = signer.cert_der(&setup.pki);
    let key = std::fs::read_to_string(&signer.key).expect("read key");
    let crafted = Crafted::new(&tst_info, &cert, &key, vec![cert.clone()]);
    (setup, crafted)
}

#[test]
fn ed25519_signer_verifies() {
    let (setup, crafted) = ed25519_crafted();
    let info = verify(&crafted.response(), NOTE, &setup.anchors()).expect("reply verifies");
    assert_eq!(info.signer, "CN=Keel Test TSA");
    assert_ne!(
        crafted.certificates[0],
        setup.tsa.cert_der(&setup.pki),
        "the Ed25519 one"
    );
    verify(&crafted.token(), NOTE, &setup.anchors()).expect("token verifies");
}

#[test]
fn signer_found_by_subject_key_identifier() {
    let (setup, mut crafted) = ed25519_crafted();
    let cert =
        <x509_cert::Certificate as Decode>::from_der(&crafted.certificates[0]).expect("cert");
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        .expect("extension decodes")
        .expect("openssl adds a subject key identifier");
    crafted.sid = super::craft::tlv(0x80, ski.0.as_bytes());
    crafted.signer_version = 3;
    verify(&crafted.token(), NOTE, &setup.anchors()).expect("verifies");
}

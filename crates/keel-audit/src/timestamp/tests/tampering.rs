//! Replies and tokens that must be refused, with a clear error and never a panic, and with
//! `openssl ts -verify` agreeing where it can read them.

use super::super::{TimestampError, TimestampRequest, TrustAnchors, oids, verify};
use super::craft::Crafted;
use super::pki::{CA_EXTENSIONS, KeyKind, Pki, TSA_EXTENSIONS, Tsa, TsaOptions, path};
use super::round_trip::ed25519_crafted;
use super::{NOTE, Setup};

/// A granted reply from an RSA root and a P-256 TSA, with its setup.
fn granted() -> (Setup, TimestampRequest, Vec<u8>) {
    let setup = Setup::new(KeyKind::Rsa, KeyKind::P256);
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
    (setup, request, reply)
}

#[test]
fn a_different_message_fails() {
    let (setup, _, reply) = granted();
    let other = b"keel.example/audit\n43\n";
    let err = verify(&reply, other, &setup.anchors()).expect_err("other message");
    assert!(matches!(err, TimestampError::ImprintMismatch), "{err}");
    assert!(
        !setup
            .pki
            .openssl_verifies(&reply, false, other, &setup.root.cert)
    );
}

#[test]
fn a_flipped_byte_anywhere_fails() {
    for kind in [KeyKind::Rsa, KeyKind::P256] {
        let setup = Setup::new(KeyKind::Rsa, kind);
        let request = TimestampRequest::new(NOTE).expect("request");
        let reply = setup.tsa(&TsaOptions::default()).reply(request.der());
        let anchors = setup.anchors();
        verify(&reply, NOTE, &anchors).expect("the original verifies");
        // The reply carries a copy of the root, which the verifier rightly never uses (the
        // anchor is the trusted copy): bytes inside it are not covered by anything.
        let root = setup.root.cert_der(&setup.pki);
        let root_at = reply
            .windows(root.len())
            .position(|w| w == root.as_slice())
            .expect("the reply includes the root");
        let unused = root_at..root_at + root.len();
        let mut checked = 0;
        for position in (0..reply.len()).filter(|p| p % 3 == 0 || *p < 200) {
            if unused.contains(&position) {
                continue;
            }
            let mut tampered = reply.clone();
            tampered[position] ^= 0xff;
            let result = verify(&tampered, NOTE, &anchors);
            assert!(
                result.is_err(),
                "flipping byte {position} of {} went unnoticed",
                reply.len()
            );
            checked += 1;
        }
        assert!(checked > 500, "{checked}");
        // openssl agrees on a few.
        for position in [10, reply.len() / 2, reply.len() - 5] {
            let mut tampered = reply.clone();
            tampered[position] ^= 0xff;
            assert!(
                !setup
                    .pki
                    .openssl_verifies(&tampered, false, NOTE, &setup.root.cert)
            );
        }
    }
}

#[test]
fn another_ca_is_not_trusted() {
    let (setup, _, reply) = granted();
    let other = setup.pki.root("Keel Test Root", KeyKind::Rsa);
    let anchors = TrustAnchors::from_pem(&other.cert_pem()).expect("anchors");
    let err = verify(&reply, NOTE, &anchors).expect_err("untrusted");
    assert!(matches!(err, TimestampError::Untrusted { .. }), "{err}");
    assert!(!setup.pki.openssl_verifies(&reply, false, NOTE, &other.cert));
}

/// A token over a real `TSTInfo` (whose TSA name is "CN=Keel Test TSA"), signed with `openssl
/// cms -sign -cades` (which adds the ESS signingCertificateV2 attribute) by a certificate named
/// `name` with the extensions `extensions`.
fn cms_signed_token(name: &str, extensions: &str) -> (Setup, Vec<u8>) {
    let (setup, signer, tst_info) =
        super::round_trip::openssl_tst_info(name, KeyKind::P256, extensions);
    let content = setup.pki.write("tst.der", &tst_info);
    let out = setup.pki.file("token.der");
    setup.pki.openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-cades",
        "-econtent_type",
        "1.2.840.113549.1.9.16.1.4",
        "-in",
        path(&content),
        "-signer",
        path(&signer.cert),
        "-inkey",
        path(&signer.key),
        "-outform",
        "DER",
        "-out",
        path(&out),
    ]);
    (setup, std::fs::read(out).expect("read token"))
}

#[test]
fn a_cms_token_from_a_proper_tsa_certificate_verifies() {
    // The control for the two tests below: only the signer's extensions differ.
    let (setup, token) = cms_signed_token("Keel Test TSA", TSA_EXTENSIONS);
    verify(&token, NOTE, &setup.anchors()).expect("verifies");
    assert!(
        setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );
}

#[test]
fn a_signer_not_named_by_the_tst_info_is_refused() {
    let (setup, token) = cms_signed_token("Keel Other TSA", TSA_EXTENSIONS);
    let err = verify(&token, NOTE, &setup.anchors()).expect_err("TSA name");
    assert!(
        err.to_string()
            .contains("names the TSA \"CN=Keel Test TSA\""),
        "{err}"
    );
    assert!(
        !setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );
}

#[test]
fn a_signer_without_the_timestamping_key_purpose_is_refused() {
    let no_eku = "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n";
    let (setup, token) = cms_signed_token("Keel Test TSA", no_eku);
    let err = verify(&token, NOTE, &setup.anchors()).expect_err("no EKU");
    assert!(
        err.to_string()
            .contains("no extended key usage timeStamping"),
        "{err}"
    );
    assert!(
        !setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );

    let other_purpose =
        "keyUsage = critical,digitalSignature\nextendedKeyUsage = critical,codeSigning\n";
    let (setup, token) = cms_signed_token("Keel Test TSA", other_purpose);
    let err = verify(&token, NOTE, &setup.anchors()).expect_err("wrong EKU");
    assert!(err.to_string().contains("not only timeStamping"), "{err}");
    assert!(
        !setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );
}

#[test]
fn a_non_critical_timestamping_key_purpose_is_refused() {
    let (setup, token) = cms_signed_token("Keel Test TSA", "extendedKeyUsage = timeStamping\n");
    let err = verify(&token, NOTE, &setup.anchors()).expect_err("non-critical EKU");
    assert!(err.to_string().contains("not critical"), "{err}");
    assert!(
        !setup
            .pki
            .openssl_verifies(&token, true, NOTE, &setup.root.cert)
    );
}

#[test]
fn accept_refuses_a_reply_to_another_request() {
    let (setup, request, _) = granted();
    let tsa = setup.tsa(&TsaOptions::default());
    // Same message, another nonce.
    let other = TimestampRequest::new(NOTE).expect("request");
    let err = request.accept(&tsa.reply(other.der())).expect_err("nonce");
    assert!(matches!(err, TimestampError::NonceMismatch), "{err}");
    // Same nonce, another message.
    let other = TimestampRequest::with_nonce(b"another note", request.nonce()).expect("request");
    let err = request
        .accept(&tsa.reply(other.der()))
        .expect_err("imprint");
    assert!(matches!(err, TimestampError::ImprintMismatch), "{err}");
}

#[test]
fn a_rejection_carries_the_status_and_failure_info() {
    let (setup, request, _) = granted();
    let tsa = setup.tsa(&TsaOptions::default());
    // The TSA accepts only SHA-2 imprints: a SHA-1 query is refused with badAlg.
    let data = setup.pki.write("note", NOTE);
    let query = setup.pki.file("sha1.tsq");
    setup.pki.openssl(&[
        "ts",
        "-query",
        "-data",
        path(&data),
        "-sha1",
        "-cert",
        "-out",
        path(&query),
    ]);
    let reply = tsa.reply(&std::fs::read(query).expect("read query"));
    for err in [
        request.accept(&reply).expect_err("rejected"),
        verify(&reply, NOTE, &setup.anchors()).expect_err("rejected"),
    ] {
        let TimestampError::Rejected {
            status,
            text,
            fail_info,
        } = &err
        else {
            panic!("not a rejection: {err}");
        };
        assert_eq!(*status, 2);
        assert_eq!(fail_info, &["badAlg"]);
        assert!(text.contains("algorithm"), "{text}");
        assert!(err.to_string().contains("rejection"), "{err}");
    }
}

#[test]
fn truncated_and_garbage_input_fails() {
    let (setup, request, reply) = granted();
    let anchors = setup.anchors();
    for len in (0..reply.len()).step_by(7).chain([reply.len() - 1]) {
        let cut = &reply[..len];
        assert!(verify(cut, NOTE, &anchors).is_err(), "{len}");
        assert!(request.accept(cut).is_err(), "{len}");
    }
    let mut trailing = reply.clone();
    trailing.push(0);
    assert!(verify(&trailing, NOTE, &anchors).is_err());
    assert!(request.accept(&trailing).is_err());
    for garbage in [
        &b""[..],
        b"\x30",
        b"\x30\x80\x00\x00",
        b"\x30\x84\xff\xff\xff\xff",
        b"not DER at all",
    ] {
        assert!(verify(garbage, NOTE, &anchors).is_err());
        assert!(request.accept(garbage).is_err());
    }
    let huge = vec![0x30; super::super::MAX_TOKEN_LEN + 1];
    assert!(matches!(
        verify(&huge, NOTE, &anchors),
        Err(TimestampError::TooLarge { .. })
    ));
    for bad_pem in [
        &b""[..],
        b"no certificates here",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\n",
    ] {
        assert!(TrustAnchors::from_pem(bad_pem).is_err());
    }
}

#[test]
fn an_expired_or_not_yet_valid_tsa_certificate_fails() {
    let pki = Pki::new();
    let root = pki.root("Keel Test Root", KeyKind::P256);
    let anchors = TrustAnchors::from_pem(&root.cert_pem()).expect("anchors");
    for (dates, reason) in [
        (("20200101000000Z", "20210101000000Z"), "expired"),
        (("20900101000000Z", "20910101000000Z"), "not yet valid"),
    ] {
        let signer = pki.issue_dated("Keel Test TSA", KeyKind::P256, &root, TSA_EXTENSIONS, dates);
        let tsa = Tsa::new(&pki, signer, &[&root], &TsaOptions::default());
        let request = TimestampRequest::new(NOTE).expect("request");
        let reply = tsa.reply(request.der());
        request
            .accept(&reply)
            .expect("accept does not judge certificates");
        let err = verify(&reply, NOTE, &anchors).expect_err("out of validity");
        assert!(err.to_string().contains(reason), "{err}");
        assert!(!pki.openssl_verifies(&reply, false, NOTE, &root.cert));
    }
}

#[test]
fn an_issuer_that_is_not_a_ca_fails() {
    let pki = Pki::new();
    let root = pki.root("Keel Test Root", KeyKind::P256);
    let not_ca =
        "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,keyCertSign,digitalSignature\n";
    let fake = pki.issue("Keel Not A CA", KeyKind::P256, &root, not_ca);
    let signer = pki.issue("Keel Test TSA", KeyKind::P256, &fake, TSA_EXTENSIONS);
    let tsa = Tsa::new(&pki, signer, &[&fake, &root], &TsaOptions::default());
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = tsa.reply(request.der());
    let anchors = TrustAnchors::from_pem(&root.cert_pem()).expect("anchors");
    let err = verify(&reply, NOTE, &anchors).expect_err("not a CA");
    assert!(err.to_string().contains("not a CA certificate"), "{err}");
    assert!(!pki.openssl_verifies(&reply, false, NOTE, &root.cert));
}

#[test]
fn an_overlong_chain_fails() {
    let pki = Pki::new();
    let root = pki.root("Keel Test Root", KeyKind::P256);
    let mut cas = vec![root.clone()];
    for depth in 1..=super::super::MAX_CHAIN_LEN {
        let ca = pki.issue(
            &format!("Keel CA {depth}"),
            KeyKind::P256,
            &cas[depth - 1],
            CA_EXTENSIONS,
        );
        cas.push(ca);
    }
    let signer = pki.issue(
        "Keel Test TSA",
        KeyKind::P256,
        &cas[cas.len() - 1],
        TSA_EXTENSIONS,
    );
    let chain: Vec<_> = cas.iter().rev().collect();
    let tsa = Tsa::new(&pki, signer, &chain, &TsaOptions::default());
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = tsa.reply(request.der());
    let anchors = TrustAnchors::from_pem(&root.cert_pem()).expect("anchors");
    let err = verify(&reply, NOTE, &anchors).expect_err("too long");
    assert!(err.to_string().contains("longer than the limit"), "{err}");
    // Anchored two CAs lower, the chain has the maximum length.
    let anchors = TrustAnchors::from_pem(&cas[2].cert_pem()).expect("anchors");
    let info = verify(&reply, NOTE, &anchors).expect("a chain of the maximum length verifies");
    assert_eq!(info.chain.len(), super::super::MAX_CHAIN_LEN);
}

#[test]
fn cms_defects_are_refused() {
    let (setup, base) = ed25519_crafted();
    let anchors = setup.anchors();
    verify(&base.token(), NOTE, &anchors).expect("the base token verifies");
    let digest = super::super::crypto::DigestAlgorithm::Sha512.digest(&base.tst_info);
    let other_cert = setup.tsa.cert_der(&setup.pki);
    type Defect = (&'static str, Box<dyn Fn(&mut Crafted)>);
    let defects: Vec<Defect> = vec![
        (
            "not a TSTInfo",
            Box::new(|c| c.content_type = oids::CONTENT_TYPE),
        ),
        (
            "signed content type is not",
            Box::new(|c| {
                c.attributes[0] = Crafted::content_type_attribute(oids::SIGNED_DATA);
            }),
        ),
        (
            "no content-type",
            Box::new(|c| {
                c.attributes.remove(0);
            }),
        ),
        (
            "message-digest",
            Box::new(|c| {
                c.attributes[1] = Crafted::message_digest_attribute(&[0; 64]);
            }),
        ),
        (
            "no message-digest",
            Box::new(|c| {
                c.attributes.remove(1);
            }),
        ),
        (
            "appears twice",
            Box::new(move |c| {
                c.attributes
                    .push(Crafted::message_digest_attribute(&digest));
            }),
        ),
        (
            "no ESS signing-certificate",
            Box::new(|c| {
                c.attributes.remove(2);
            }),
        ),
        (
            "signingCertificateV2",
            Box::new(move |c| {
                c.attributes[2] = Crafted::signing_certificate_v2(&other_cert);
            }),
        ),
        ("exactly one signer", Box::new(|c| c.second_signer = true)),
        ("version", Box::new(|c| c.signer_version = 3)),
        (
            "certificate is not in the timestamp",
            Box::new(|c| c.certificates.clear()),
        ),
        (
            "signature of the timestamp token",
            Box::new(|c| {
                c.key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
            }),
        ),
        ("TSTInfo", Box::new(|c| c.tst_info.push(0))),
    ];
    for (expected, defect) in defects {
        let mut crafted = base.clone();
        defect(&mut crafted);
        let err = verify(&crafted.token(), NOTE, &anchors).expect_err(expected);
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
}

#[test]
fn unsupported_critical_extensions_are_refused() {
    let pki = Pki::new();
    let root = pki.root("Keel Test Root", KeyKind::P256);
    let constrained =
        format!("{CA_EXTENSIONS}nameConstraints = critical,permitted;DNS:example.com\n");
    let ca = pki.issue("Keel Constrained CA", KeyKind::P256, &root, &constrained);
    let signer = pki.issue("Keel Test TSA", KeyKind::P256, &ca, TSA_EXTENSIONS);
    let tsa = Tsa::new(&pki, signer, &[&ca], &TsaOptions::default());
    let request = TimestampRequest::new(NOTE).expect("request");
    let reply = tsa.reply(request.der());
    let anchors = TrustAnchors::from_pem(&root.cert_pem()).expect("anchors");
    let err = verify(&reply, NOTE, &anchors).expect_err("name constraints");
    assert!(
        err.to_string().contains("critical extension 2.5.29.30"),
        "{err}"
    );
}

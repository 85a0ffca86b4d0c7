//! Loading, checking and reloading the served certificate.

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// The DER of the certificate the server currently presents.
fn presented(tls: &ServerTls) -> Vec<u8> {
    let key = tls.current.key.read().expect("lock").clone();
    key.cert[0].as_ref().to_vec()
}

fn der_of(name: &str) -> Vec<u8> {
    let pem = std::fs::read(fixture(name)).expect("fixture");
    CertificateDer::from_pem_slice(&pem)
        .expect("pem")
        .as_ref()
        .to_vec()
}

fn error_of(cert: &Path, key: &Path) -> String {
    ServerTls::load(cert, key).expect_err("refused").to_string()
}

#[test]
fn ec_and_rsa_pairs_load() {
    for (cert, key) in [("a.crt", "a.key"), ("rsa.crt", "rsa.key")] {
        let tls = ServerTls::load(&fixture(cert), &fixture(key)).expect("loads");
        assert_eq!(presented(&tls), der_of(cert));
    }
}

#[test]
fn unusable_files_are_refused_with_the_setting_and_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    let missing = dir.path().join("missing.pem");

    let mismatched = error_of(&fixture("a.crt"), &fixture("b.key"));
    assert!(
        mismatched.contains("cannot be used together"),
        "{mismatched}"
    );
    let absent = error_of(&missing, &fixture("a.key"));
    assert!(absent.starts_with("cannot read tls_cert"), "{absent}");
    let no_cert = error_of(&empty, &fixture("a.key"));
    assert!(no_cert.contains("no PEM CERTIFICATE"), "{no_cert}");
    let no_key = error_of(&fixture("a.crt"), &fixture("a.crt"));
    assert!(
        no_key.contains("tls_key") && no_key.contains("no PEM private key"),
        "{no_key}"
    );

    let huge = dir.path().join("huge.pem");
    std::fs::write(&huge, vec![b'a'; (MAX_PEM_BYTES + 1) as usize]).expect("write");
    let too_big = error_of(&huge, &fixture("a.key"));
    assert!(too_big.contains("larger than"), "{too_big}");
}

#[test]
fn changed_files_are_presented_and_a_bad_pair_keeps_the_previous_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let install = |c: &str, k: &str| {
        std::fs::copy(fixture(c), &cert).expect("copy cert");
        std::fs::copy(fixture(k), &key).expect("copy key");
    };
    install("a.crt", "a.key");
    let tls = ServerTls::load(&cert, &key).expect("loads");
    assert!(!tls.reload_if_changed().expect("unchanged"));

    install("rsa.crt", "rsa.key");
    assert!(tls.reload_if_changed().expect("reloads"));
    assert_eq!(presented(&tls), der_of("rsa.crt"));

    // A renewal caught half-written: the certificate is new, the key still the old one.
    install("b.crt", "rsa.key");
    let err = tls.reload_if_changed().expect_err("bad pair").to_string();
    assert!(err.contains("cannot be used together"), "{err}");
    assert_eq!(presented(&tls), der_of("rsa.crt"));
    // Reported once, not on every check.
    assert!(!tls.reload_if_changed().expect("seen"));

    install("b.crt", "b.key");
    assert!(tls.reload_if_changed().expect("reloads"));
    assert_eq!(presented(&tls), der_of("b.crt"));
}

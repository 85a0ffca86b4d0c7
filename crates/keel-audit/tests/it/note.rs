//! Signed notes: the golang.org/x/mod/sumdb/note and C2SP signed-note examples, openssl keys,
//! sign/open round trips, foreign and forged signatures, and malformed notes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use keel_audit::Error;
use keel_audit::note::{NoteSigner, NoteVerifier};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// The seed in sumdb/note's example signer key `PRIVATE+KEY+PeterNeumann+c74f20a3+<this>`.
const PETER_SKEY: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// A key made with `openssl genpkey -algorithm ed25519`, its public key (from `openssl pkey
/// -pubout`), and the signature `openssl pkeyutl -sign -rawin` made of OPENSSL_MSG.
const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIJ7Glnq5x23Hn4XJAE0eJLxZKM1/GQ/L6NzWi1kCNKVA\n\
-----END PRIVATE KEY-----\n";
const OPENSSL_PUB: &str = "kIpbVFGU3YchksLhNiXvfMT77+ldD1+xtp/c367KJTg=";
const OPENSSL_MSG: &str = "keel.test/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
const OPENSSL_SIG: &str =
    "n9RG8tLnUJPZLWjN2lACxrCU4de4rWV05LAJFllcctIxFg8merJA0+XsTDBcurs+QGBf39Srf9QrT0yScGryCg==";

fn peter() -> NoteSigner {
    let raw = STANDARD.decode(PETER_SKEY).expect("base64");
    assert_eq!(raw[0], 0x01);
    let seed: [u8; 32] = raw[1..].try_into().expect("32 bytes");
    NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).expect("signer")
}

fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).expect("signer")
}

#[test]
fn sumdb_note_example_opens() {
    let v = NoteVerifier::parse(PETER_VKEY).expect("vkey");
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), 0xc74f20a3);
    let msg = format!("{PETER_TEXT}\n{PETER_SIG}");
    assert_eq!(v.open(&msg).expect("opens"), PETER_TEXT);
    // The doubly signed example: EnochRoot's signature is by an unknown key, so it is ignored.
    let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(v.open(&both).expect("opens"), PETER_TEXT);
    let only_enoch = format!("{PETER_TEXT}\n{ENOCH_SIG}");
    assert!(matches!(v.open(&only_enoch), Err(Error::UnverifiedNote(_))));
}

#[test]
fn sumdb_note_example_signs_identically() {
    let s = peter();
    assert_eq!(s.name(), "PeterNeumann");
    assert_eq!(s.key_id(), 0xc74f20a3);
    assert_eq!(s.verifier_key(), PETER_VKEY);
    assert_eq!(
        s.sign(PETER_TEXT).expect("signs"),
        format!("{PETER_TEXT}\n{PETER_SIG}")
    );
}

#[test]
fn c2sp_signed_note_example_opens() {
    let v = NoteVerifier::parse(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    )
    .expect("vkey");
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    assert_eq!(
        v.open(note).expect("opens"),
        "This is an example message.\n"
    );
}

#[test]
fn openssl_keys_are_read_and_sign_like_openssl() {
    let s = NoteSigner::from_pem("keel.test/log", OPENSSL_PEM).expect("pem");
    assert_eq!(STANDARD.encode(s.public_key()), OPENSSL_PUB);
    let note = s.sign(OPENSSL_MSG).expect("signs");
    let line = note.rsplit('\n').nth(1).expect("signature line");
    let raw = STANDARD
        .decode(line.rsplit(' ').next().expect("base64"))
        .expect("base64");
    assert_eq!(raw[..4], s.key_id().to_be_bytes());
    assert_eq!(STANDARD.encode(&raw[4..]), OPENSSL_SIG);
    // Without the trailing newline, and with CRLF line ends, it still reads.
    let trimmed = NoteSigner::from_pem("n", OPENSSL_PEM.trim_end()).expect("trimmed");
    assert_eq!(trimmed.public_key(), s.public_key());
    let crlf = NoteSigner::from_pem("n", &OPENSSL_PEM.replace('\n', "\r\n")).expect("crlf");
    assert_eq!(crlf.public_key(), s.public_key());
}

#[test]
fn generated_keys_are_openssl_style_pkcs8() {
    let pem = NoteSigner::generate_pem().expect("generates");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("\n-----END PRIVATE KEY-----\n"), "{pem}");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(&body).expect("base64");
    // openssl's layout: a 48-byte v1 PrivateKeyInfo, Ed25519 OID, no public key.
    assert_eq!(der.len(), 48);
    assert!(body.starts_with("MC4CAQAwBQYDK2VwBCIEI"), "{body}");
    let a = NoteSigner::from_pem("a.example/log", &pem).expect("reads back");
    let b = NoteSigner::from_pem("a.example/log", &NoteSigner::generate_pem().expect("again"))
        .expect("reads");
    assert_ne!(a.public_key(), b.public_key());
}

#[test]
fn pkcs8_v2_with_public_key_is_read() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let s = NoteSigner::from_pem("n", &pem).expect("reads");
    assert_eq!(s.public_key(), key.verifying_key().to_bytes());
}

#[test]
fn bad_pem_is_refused_without_leaking() {
    for pem in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        assert!(matches!(
            NoteSigner::from_pem("n", pem),
            Err(Error::InvalidKey(_))
        ));
    }
    // An RSA-shaped or otherwise wrong algorithm: change the OID's last byte (0x70 -> 0x71).
    let der = STANDARD
        .decode("MC4CAQAwBQYDK2VwBCIEIJ7Glnq5x23Hn4XJAE0eJLxZKM1/GQ/L6NzWi1kCNKVA")
        .expect("der");
    let mut wrong = der.clone();
    wrong[11] = 0x71;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(&wrong)
    );
    let err = NoteSigner::from_pem("n", &pem).expect_err("wrong algorithm");
    assert!(!err.to_string().contains("nsaWernHbcef"), "{err}");
}

#[test]
fn debug_does_not_print_the_key() {
    let s = NoteSigner::from_pem("keel.test/log", OPENSSL_PEM).expect("pem");
    assert_eq!(
        format!("{s:?}"),
        format!(
            "NoteSigner {{ name: \"keel.test/log\", key_id: {:08x}, .. }}",
            s.key_id()
        )
    );
}

#[test]
fn names_are_checked() {
    for bad in ["", "a b", "a+b", "a\nb", "a\u{2003}b", "a\u{0}b"] {
        assert!(
            matches!(
                NoteSigner::new(bad, SigningKey::from_bytes(&[1; 32])),
                Err(Error::InvalidKeyName(_))
            ),
            "{bad:?}"
        );
    }
    assert!(NoteSigner::new("example.com/log-1_ü", SigningKey::from_bytes(&[1; 32])).is_ok());
}

#[test]
fn round_trip_and_tampering() {
    let s = signer("keel.test/audit", 1);
    let v = NoteVerifier::parse(&s.verifier_key()).expect("vkey");
    assert_eq!(v, s.verifier());
    assert_eq!(v.key_id(), s.key_id());
    let text = "keel.test/audit\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nwith a blank line inside\n";
    let note = s.sign(text).expect("signs");
    assert_eq!(v.open(&note).expect("opens"), text);

    // Any change to the text breaks the signature.
    let tampered = note.replacen("42", "43", 1);
    assert!(matches!(v.open(&tampered), Err(Error::InvalidSignature(_))));
    // Another key, even with the same name, does not verify it.
    let other = signer("keel.test/audit", 2);
    assert!(matches!(
        other.verifier().open(&note),
        Err(Error::UnverifiedNote(_))
    ));
    assert!(matches!(
        signer("other", 1).verifier().open(&note),
        Err(Error::UnverifiedNote(_))
    ));
    // A signature by another key is ignored; a cosigned note opens for both.
    let cosigned = format!("{note}{}", other_sig_line(&other, text));
    assert_eq!(v.open(&cosigned).expect("opens"), text);
    assert_eq!(other.verifier().open(&cosigned).expect("opens"), text);
    let reordered = format!(
        "{}\n{}{}",
        text,
        other_sig_line(&other, text),
        sig_line(&note)
    );
    assert_eq!(v.open(&reordered).expect("opens"), text);
    // A bad signature by the known key rejects the note even if a good one is present.
    let forged_line = sig_line(&s.sign("something else\n").expect("signs"));
    let forged = format!("{note}{forged_line}");
    assert!(matches!(v.open(&forged), Err(Error::InvalidSignature(_))));
    // A same-name signature with another key id is another key's: ignored.
    let impostor = sig_line(&other.sign(text).expect("signs"));
    assert_eq!(v.open(&format!("{note}{impostor}")).expect("opens"), text);
}

fn sig_line(note: &str) -> String {
    let start = note.rfind("\n\n").expect("blank line") + 2;
    note[start..].to_owned()
}

fn other_sig_line(s: &NoteSigner, text: &str) -> String {
    sig_line(&s.sign(text).expect("signs"))
}

#[test]
fn malformed_notes_are_refused() {
    let s = signer("n", 3);
    let v = s.verifier();
    let note = s.sign("hello\n").expect("signs");
    let line = sig_line(&note);
    let b64 = line.trim_end().rsplit(' ').next().expect("b64").to_owned();
    let malformed = [
        "hello\n".to_owned(),
        "hello\n\n".to_owned(),
        note.trim_end().to_owned(),
        format!("{note}\n"),
        format!("hello\n{line}"),
        format!("hello\n\n- n {b64}\n"),
        format!("hello\n\n\u{2014}n {b64}\n"),
        format!("hello\n\n\u{2014} n  {b64}\n"),
        format!("hello\n\n\u{2014} n {b64} \n"),
        "hello\n\n\u{2014} n\n".to_owned(),
        format!("hello\n\n\u{2014} n+x {b64}\n"),
        format!("hello\n\n\u{2014} n {}\n", &b64[..b64.len() - 1]),
        "hello\n\n\u{2014} n AAAAAA==\n".to_owned(),
        format!("hello\r\n\n{line}"),
        format!("hel\u{7}lo\n\n{line}"),
        format!("hello\n\n{line}\u{2014} n\u{0} {b64}\n"),
    ];
    for bad in &malformed {
        assert!(
            matches!(v.open(bad), Err(Error::MalformedNote(_))),
            "{bad:?}"
        );
    }
    // Signature limits: 100 lines are accepted, 101 are not.
    let other = signer("other", 4);
    let foreign = sig_line(&other.sign("hello\n").expect("signs"));
    let many = format!("{note}{}", foreign.repeat(99));
    assert!(v.open(&many).is_ok());
    let too_many = format!("{note}{}", foreign.repeat(100));
    assert!(matches!(v.open(&too_many), Err(Error::MalformedNote(_))));
    // Size limit: 1 MiB.
    let big_text = format!("{}\n", "x".repeat(1 << 20));
    assert!(matches!(s.sign(&big_text), Err(Error::MalformedNote(_))));
    let big = format!("{}\n\n{line}", "x".repeat(1 << 20));
    assert!(matches!(v.open(&big), Err(Error::MalformedNote(_))));
}

#[test]
fn texts_to_sign_are_checked() {
    let s = signer("n", 5);
    for bad in ["", "no newline", "tab\there\n", "cr\r\n"] {
        assert!(
            matches!(s.sign(bad), Err(Error::MalformedNote(_))),
            "{bad:?}"
        );
    }
    assert!(s.sign("\n").is_ok());
}

#[test]
fn verifier_keys_are_checked() {
    let s = signer("keel.test/audit", 6);
    let vkey = s.verifier_key();
    let (name, rest) = vkey.split_once('+').expect("name");
    let (id, key) = rest.split_once('+').expect("id");
    assert_eq!(id.len(), 8);
    assert_eq!(id, format!("{:08x}", s.key_id()));
    let raw = STANDARD.decode(key).expect("base64");
    assert_eq!(raw.len(), 33);
    assert_eq!(raw[0], 0x01);
    assert_eq!(raw[1..], s.public_key());
    // Uppercase hex, as Go's parser accepts it.
    assert!(NoteVerifier::parse(&format!("{name}+{}+{key}", id.to_uppercase())).is_ok());

    let wrong_id = format!("{name}+{:08x}+{key}", s.key_id() ^ 1);
    let mut raw2 = raw.clone();
    raw2[0] = 0x02;
    let other_alg = format!("{name}+{id}+{}", STANDARD.encode(&raw2));
    let short = format!("{name}+{id}+{}", STANDARD.encode(&raw[..32]));
    let bad = [
        String::new(),
        name.to_owned(),
        format!("{name}+{id}"),
        format!("{name}+{id}+"),
        format!("{name}+{}+{key}", &id[..7]),
        format!("{name}+0{id}+{key}"),
        format!("{name}+{}+{key}", id.replacen(&id[..1], "+", 1)),
        format!("{name}+{id}+{}", &key[1..]),
        format!("other+{id}+{key}"),
        format!("a b+{id}+{key}"),
        format!("+{id}+{key}"),
        wrong_id,
        other_alg,
        short,
    ];
    for vkey in &bad {
        assert!(
            matches!(NoteVerifier::parse(vkey), Err(Error::InvalidVerifierKey(_))),
            "{vkey:?}"
        );
    }
}

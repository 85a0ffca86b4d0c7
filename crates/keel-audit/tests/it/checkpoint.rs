//! Checkpoints: the tlog-checkpoint spec example, round trips through a signed note.

use keel_audit::checkpoint::Checkpoint;
use keel_audit::note::NoteSigner;

#[test]
fn spec_example_parses() {
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse(text).expect("parses");
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        crate::hex(&cp.root),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_text(), text);
}

#[test]
fn signed_checkpoint_round_trip() {
    let signer = NoteSigner::new(
        "keel.test/audit",
        ed25519_dalek::SigningKey::from_bytes(&[11; 32]),
    )
    .expect("signer");
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size: u64::MAX,
        root: [0xab; 32],
        extensions: vec!["x".into()],
    };
    let note = signer.sign(&cp.to_text()).expect("signs");
    let text = signer.verifier().open(&note).expect("opens");
    assert_eq!(Checkpoint::parse(text).expect("parses"), cp);
}

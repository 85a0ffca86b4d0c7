//! Tests of RFC 3161 timestamps with the `openssl` CLI as the TSA (`openssl ts -reply`) and as
//! the independent verifier (`openssl ts -verify`), each with its own test CA.

mod craft;
mod fuzz;
mod pki;
mod round_trip;
mod tampering;

use pki::{Identity, KeyKind, Pki, TSA_EXTENSIONS, Tsa, TsaOptions};

use super::TrustAnchors;

/// A checkpoint note, the kind of message Keel timestamps.
pub const NOTE: &[u8] = concat!(
    "keel.example/audit\n",
    "42\n",
    "c2lnbmVkIHRyZWUgaGVhZCBoYXNoIG9mIGZvcnR5LXR3byBsZWF2ZXM=\n",
    "\n",
    "\u{2014} keel.example/audit Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zh",
    "cyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n",
)
.as_bytes();

/// A PKI with a root CA and a TSA certificate it issued.
pub struct Setup {
    /// The scratch directory and CLI.
    pub pki: Pki,
    /// The root CA.
    pub root: Identity,
    /// The TSA's key and certificate.
    pub tsa: Identity,
}

impl Setup {
    /// A root of `root_kind` issuing a TSA certificate for a key of `tsa_kind`.
    pub fn new(root_kind: KeyKind, tsa_kind: KeyKind) -> Self {
        let pki = Pki::new();
        let root = pki.root("Keel Test Root", root_kind);
        let tsa = pki.issue("Keel Test TSA", tsa_kind, &root, TSA_EXTENSIONS);
        Self { pki, root, tsa }
    }

    /// The TSA, including the root in its replies (as `-chain` commonly does).
    pub fn tsa(&self, options: &TsaOptions) -> Tsa<'_> {
        Tsa::new(&self.pki, self.tsa.clone(), &[&self.root], options)
    }

    /// The root as the only trust anchor.
    pub fn anchors(&self) -> TrustAnchors {
        TrustAnchors::from_pem(&self.root.cert_pem()).expect("anchors")
    }
}

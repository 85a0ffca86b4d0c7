//! Timestamp tokens assembled and signed in Rust with Ed25519: for a signer `openssl ts` cannot
//! be (OpenSSL 3.0 does not sign CMS with Ed25519), and to put one CMS defect at a time in an
//! otherwise valid token.

use der::Encode;
use der::asn1::ObjectIdentifier;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use x509_cert::Certificate;

use super::super::crypto::DigestAlgorithm;
use super::super::oids;

/// A DER TLV with a one-byte tag.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the concatenated `parts`.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A SET of the concatenated `parts`, in the given order.
pub fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// An OBJECT IDENTIFIER.
pub fn oid(oid: ObjectIdentifier) -> Vec<u8> {
    oid.to_der().expect("OID DER")
}

/// An `AlgorithmIdentifier` without parameters.
pub fn algorithm(id: ObjectIdentifier) -> Vec<u8> {
    seq(&[&oid(id)])
}

/// An attribute with one value.
pub fn attribute(id: ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(id), &set(&[value])])
}

/// The parts of a token, each replaceable by a test, signed with an Ed25519 key.
#[derive(Clone, Debug)]
pub struct Crafted {
    /// The `TSTInfo` DER (the `eContent`).
    pub tst_info: Vec<u8>,
    /// `eContentType`.
    pub content_type: ObjectIdentifier,
    /// The signed attributes (full `Attribute` TLVs), in this order.
    pub attributes: Vec<Vec<u8>>,
    /// `SignerInfo.version`.
    pub signer_version: u8,
    /// The `SignerIdentifier` TLV.
    pub sid: Vec<u8>,
    /// The certificates carried (DER).
    pub certificates: Vec<Vec<u8>>,
    /// A second, identical `SignerInfo`.
    pub second_signer: bool,
    /// The signing key.
    pub key: ed25519_dalek::SigningKey,
}

impl Crafted {
    /// A valid token over `tst_info`, signed by `key_pem` (PKCS#8) whose certificate is
    /// `cert_der`, carrying `certificates` (which should include `cert_der`).
    pub fn new(
        tst_info: &[u8],
        cert_der: &[u8],
        key_pem: &str,
        certificates: Vec<Vec<u8>>,
    ) -> Self {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(key_pem).expect("Ed25519 key");
        let cert = <Certificate as der::Decode>::from_der(cert_der).expect("certificate");
        let tbs = cert.tbs_certificate();
        let sid = seq(&[
            &tbs.issuer().to_der().expect("issuer"),
            &tbs.serial_number().to_der().expect("serial"),
        ]);
        Self {
            tst_info: tst_info.to_vec(),
            content_type: oids::CT_TST_INFO,
            attributes: vec![
                Self::content_type_attribute(oids::CT_TST_INFO),
                Self::message_digest_attribute(&DigestAlgorithm::Sha512.digest(tst_info)),
                Self::signing_certificate_v2(cert_der),
            ],
            signer_version: 1,
            sid,
            certificates,
            second_signer: false,
            key,
        }
    }

    /// A content-type attribute.
    pub fn content_type_attribute(content_type: ObjectIdentifier) -> Vec<u8> {
        attribute(oids::CONTENT_TYPE, &oid(content_type))
    }

    /// A message-digest attribute.
    pub fn message_digest_attribute(digest: &[u8]) -> Vec<u8> {
        attribute(oids::MESSAGE_DIGEST, &tlv(0x04, digest))
    }

    /// An ESS signingCertificateV2 attribute naming `cert_der` (SHA-256, the default algorithm).
    pub fn signing_certificate_v2(cert_der: &[u8]) -> Vec<u8> {
        let hash = DigestAlgorithm::Sha256.digest(cert_der);
        let cert_id = seq(&[&tlv(0x04, &hash)]);
        attribute(oids::SIGNING_CERTIFICATE_V2, &seq(&[&seq(&[&cert_id])]))
    }

    /// The token: a `ContentInfo` with the `SignedData`.
    pub fn token(&self) -> Vec<u8> {
        let attributes = self.attributes.concat();
        let signature = self.key.sign(&tlv(0x31, &attributes));
        let signer_info = seq(&[
            &tlv(0x02, &[self.signer_version]),
            &self.sid,
            &algorithm(oids::SHA512),
            &tlv(0xa0, &attributes),
            &algorithm(oids::ED25519),
            &tlv(0x04, &signature.to_bytes()),
        ]);
        let signer_infos = if self.second_signer {
            set(&[&signer_info, &signer_info])
        } else {
            set(&[&signer_info])
        };
        let encapsulated = seq(&[
            &oid(self.content_type),
            &tlv(0xa0, &tlv(0x04, &self.tst_info)),
        ]);
        let signed_data = seq(&[
            &tlv(0x02, &[3]),
            &set(&[&algorithm(oids::SHA512)]),
            &encapsulated,
            &tlv(0xa0, &self.certificates.concat()),
            &signer_infos,
        ]);
        seq(&[&oid(oids::SIGNED_DATA), &tlv(0xa0, &signed_data)])
    }

    /// A granted `TimeStampResp` around [`Self::token`].
    pub fn response(&self) -> Vec<u8> {
        seq(&[&seq(&[&tlv(0x02, &[0])]), &self.token()])
    }
}

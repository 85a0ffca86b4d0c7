//! Digests and signature verification: the algorithms a TSA and its CAs may use, mapped from
//! their OIDs to RustCrypto implementations.

use der::asn1::ObjectIdentifier;
use der::{Encode, Tagged};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs8::DecodePublicKey;
use sha1::Digest as _;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::error::TimestampError;
use super::oids;

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DigestAlgorithm {
    /// SHA-1: only to match an ESS `signingCertificate` certificate hash, never for signatures.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm an `AlgorithmIdentifier` names; its parameters must be absent or NULL.
    pub(super) fn from_identifier(
        algorithm: &AlgorithmIdentifierOwned,
    ) -> Result<Self, TimestampError> {
        check_absent_or_null(algorithm, "digest algorithm")?;
        match algorithm.oid {
            oids::SHA1 => Ok(Self::Sha1),
            oids::SHA256 => Ok(Self::Sha256),
            oids::SHA384 => Ok(Self::Sha384),
            oids::SHA512 => Ok(Self::Sha512),
            oid => Err(unsupported("digest algorithm", oid)),
        }
    }

    /// The algorithm as a CMS signer's digest (SHA-1 is refused there).
    pub(super) fn for_signing(
        algorithm: &AlgorithmIdentifierOwned,
    ) -> Result<Self, TimestampError> {
        match Self::from_identifier(algorithm)? {
            Self::Sha1 => Err(unsupported("digest algorithm", algorithm.oid)),
            digest => Ok(digest),
        }
    }

    /// The digest of `data`.
    pub(super) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2_011::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2_011::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2_011::Sha512::digest(data).to_vec(),
        }
    }
}

/// A signature scheme with its digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(DigestAlgorithm),
    /// ECDSA on P-256 or P-384 (the key says which).
    Ecdsa(DigestAlgorithm),
    /// Ed25519 (pure: over the message itself).
    Ed25519,
}

impl SignatureAlgorithm {
    /// The scheme a certificate's `signatureAlgorithm` names (it must name the digest too).
    pub(super) fn for_certificate(
        algorithm: &AlgorithmIdentifierOwned,
    ) -> Result<Self, TimestampError> {
        Self::from_identifier(algorithm, None)
    }

    /// The scheme of a CMS `SignerInfo`: as for certificates, and also the bare key algorithms
    /// (`rsaEncryption`, `id-ecPublicKey`) with the signer's `digestAlgorithm` (RFC 5652 5.3).
    pub(super) fn for_signer(
        algorithm: &AlgorithmIdentifierOwned,
        digest: DigestAlgorithm,
    ) -> Result<Self, TimestampError> {
        Self::from_identifier(algorithm, Some(digest))
    }

    /// Maps an identifier; `digest` is the digest for the bare key algorithms, if they are allowed.
    fn from_identifier(
        algorithm: &AlgorithmIdentifierOwned,
        digest: Option<DigestAlgorithm>,
    ) -> Result<Self, TimestampError> {
        use DigestAlgorithm::{Sha256, Sha384, Sha512};
        check_absent_or_null(algorithm, "signature algorithm")?;
        Ok(match (algorithm.oid, digest) {
            (oids::SHA256_WITH_RSA, _) => Self::RsaPkcs1(Sha256),
            (oids::SHA384_WITH_RSA, _) => Self::RsaPkcs1(Sha384),
            (oids::SHA512_WITH_RSA, _) => Self::RsaPkcs1(Sha512),
            (oids::RSA_ENCRYPTION, Some(digest)) => Self::RsaPkcs1(digest),
            (oids::ECDSA_WITH_SHA256, _) => Self::Ecdsa(Sha256),
            (oids::ECDSA_WITH_SHA384, _) => Self::Ecdsa(Sha384),
            (oids::ECDSA_WITH_SHA512, _) => Self::Ecdsa(Sha512),
            (oids::EC_PUBLIC_KEY, Some(digest)) => Self::Ecdsa(digest),
            (oids::ED25519, _) => Self::Ed25519,
            (oid, _) => return Err(unsupported("signature algorithm", oid)),
        })
    }
}

/// Verifies `signature` over `message` with the key in `key`, by the scheme `algorithm`.
///
/// The key's type must fit the scheme: an RSA key (at most 8192 bits, `rsa`'s limit) for
/// PKCS#1 v1.5, a P-256 or P-384 key for ECDSA, an Ed25519 key for Ed25519.
pub(super) fn verify_signature(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), TimestampError> {
    let bad = || TimestampError::BadSignature(what);
    let key_bits = key.subject_public_key.as_bytes().ok_or_else(bad)?;
    match (algorithm, key.algorithm.oid) {
        (SignatureAlgorithm::RsaPkcs1(digest), oids::RSA_ENCRYPTION) => {
            let der = key.to_der().map_err(|_| bad())?;
            let key = rsa::PublicKey::from_public_key_der(&der).map_err(|_| bad())?;
            let hashed = digest.digest(message);
            let padding = match digest {
                DigestAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2_011::Sha256>(),
                DigestAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2_011::Sha384>(),
                DigestAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2_011::Sha512>(),
                DigestAlgorithm::Sha1 => return Err(bad()),
            };
            key.verify(padding, &hashed, signature).map_err(|_| bad())
        }
        (SignatureAlgorithm::Ecdsa(digest), oids::EC_PUBLIC_KEY) => {
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(bad)?;
            let hashed = digest.digest(message);
            match curve {
                oids::SECP256R1 => {
                    let key =
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bits).map_err(|_| bad())?;
                    let signature =
                        p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                    key.verify_prehash(&hashed, &signature).map_err(|_| bad())
                }
                oids::SECP384R1 => {
                    let key =
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bits).map_err(|_| bad())?;
                    let signature =
                        p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                    key.verify_prehash(&hashed, &signature).map_err(|_| bad())
                }
                oid => Err(unsupported("elliptic curve", oid)),
            }
        }
        (SignatureAlgorithm::Ed25519, oids::ED25519) => {
            let key_bytes: &[u8; 32] = key_bits.try_into().map_err(|_| bad())?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(key_bytes).map_err(|_| bad())?;
            let signature = ed25519_dalek::Signature::from_slice(signature).map_err(|_| bad())?;
            key.verify_strict(message, &signature).map_err(|_| bad())
        }
        (_, oid) => Err(TimestampError::Unsupported {
            kind: "key type for this signature algorithm",
            oid: oid.to_string(),
        }),
    }
}

/// Refuses an algorithm identifier whose parameters are neither absent nor NULL.
fn check_absent_or_null(
    algorithm: &AlgorithmIdentifierOwned,
    kind: &'static str,
) -> Result<(), TimestampError> {
    match &algorithm.parameters {
        None => Ok(()),
        Some(parameters) if parameters.tag() == der::Tag::Null && parameters.value().is_empty() => {
            Ok(())
        }
        Some(_) => Err(TimestampError::Unsupported {
            kind,
            oid: format!("{} with parameters", algorithm.oid),
        }),
    }
}

/// An [`TimestampError::Unsupported`].
fn unsupported(kind: &'static str, oid: ObjectIdentifier) -> TimestampError {
    TimestampError::Unsupported {
        kind,
        oid: oid.to_string(),
    }
}

//! The object identifiers this module matches, named after their ASN.1 modules.

use der::asn1::ObjectIdentifier as Oid;

/// `id-signedData` (RFC 5652).
pub(super) const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// `id-ct-TSTInfo` (RFC 3161).
pub(super) const CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-contentType` signed attribute (RFC 5652).
pub(super) const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` signed attribute (RFC 5652).
pub(super) const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// `id-aa-signingCertificate` (RFC 2634, ESSCertID with SHA-1).
pub(super) const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// `id-aa-signingCertificateV2` (RFC 5035, ESSCertIDv2).
pub(super) const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// `id-sha1`.
pub(super) const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// `id-sha256`.
pub(super) const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `id-sha384`.
pub(super) const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// `id-sha512`.
pub(super) const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// `rsaEncryption` (a key type, and in CMS a signature algorithm with the signer's digest).
pub(super) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `sha256WithRSAEncryption`.
pub(super) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// `sha384WithRSAEncryption`.
pub(super) const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// `sha512WithRSAEncryption`.
pub(super) const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// `id-ecPublicKey` (a key type, and in CMS a signature algorithm with the signer's digest).
pub(super) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// `ecdsa-with-SHA256`.
pub(super) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384`.
pub(super) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// `ecdsa-with-SHA512`.
pub(super) const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
/// `secp256r1` (P-256).
pub(super) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (P-384).
pub(super) const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
/// `id-Ed25519` (RFC 8410).
pub(super) const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// `id-kp-timeStamping` (RFC 5280).
pub(super) const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
/// `id-ce-subjectKeyIdentifier`.
pub(super) const CE_SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
/// `id-ce-keyUsage`.
pub(super) const CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// `id-ce-subjectAltName`.
pub(super) const CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// `id-ce-issuerAltName`.
pub(super) const CE_ISSUER_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.18");
/// `id-ce-basicConstraints`.
pub(super) const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
/// `id-ce-certificatePolicies`.
pub(super) const CE_CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
/// `id-ce-extKeyUsage`.
pub(super) const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");

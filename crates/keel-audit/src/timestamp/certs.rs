//! X.509 certificates as the verifier uses them: decoded with `x509-cert`, plus the exact
//! `tbsCertificate` bytes their signature covers, and the trust anchors a chain must reach.

use std::collections::HashSet;

use der::asn1::BitStringRef;
use der::{Decode, Reader, SliceReader};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::crypto::{self, SignatureAlgorithm};
use super::error::TimestampError;
use super::oids;

/// A decoded certificate and the bytes its issuer signed.
#[derive(Clone, Debug)]
pub(super) struct Cert {
    /// The certificate's DER as received.
    pub der: Vec<u8>,
    /// The `tbsCertificate` DER as received.
    tbs: Vec<u8>,
    /// The outer `signatureAlgorithm`.
    signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature bits.
    signature: Vec<u8>,
    /// The decoded certificate.
    pub cert: Certificate,
}

impl Cert {
    /// Decodes a certificate from its DER (exactly one certificate, nothing after it).
    pub(super) fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        let cert = Certificate::from_der(der).map_err(TimestampError::malformed("certificate"))?;
        // The same bytes again, to keep what the issuer signed as it is.
        let mut reader = SliceReader::new(der).map_err(TimestampError::malformed("certificate"))?;
        let (tbs, signature_algorithm, signature) = reader
            .sequence(|r| {
                let tbs = r.tlv_bytes()?;
                let algorithm: AlgorithmIdentifierOwned = r.decode()?;
                let signature = BitStringRef::decode(r)?;
                Ok::<_, der::Error>((tbs, algorithm, signature))
            })
            .map_err(TimestampError::malformed("certificate"))?;
        let signature = signature.as_bytes().ok_or_else(|| {
            TimestampError::invalid("certificate", "the signature has unused bits")
        })?;
        Ok(Self {
            der: der.to_vec(),
            tbs: tbs.to_vec(),
            signature_algorithm,
            signature: signature.to_vec(),
            cert,
        })
    }

    /// The subject, RFC 4514 style, for messages.
    pub(super) fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// An [`TimestampError::Certificate`] about this certificate.
    pub(super) fn error(&self, reason: impl Into<String>) -> TimestampError {
        TimestampError::Certificate {
            subject: self.subject(),
            reason: reason.into(),
        }
    }

    /// Whether `issuer`'s subject is this certificate's issuer (exact DER name match).
    pub(super) fn is_issued_by_name(&self, issuer: &Cert) -> bool {
        self.cert.tbs_certificate().issuer() == issuer.cert.tbs_certificate().subject()
    }

    /// Verifies this certificate's signature with `issuer`'s public key.
    pub(super) fn verify_signed_by(&self, issuer: &Cert) -> Result<(), TimestampError> {
        if self.signature_algorithm != *self.cert.tbs_certificate().signature() {
            return Err(self.error("the signature algorithm differs inside and outside the TBS"));
        }
        let algorithm = SignatureAlgorithm::for_certificate(&self.signature_algorithm)?;
        crypto::verify_signature(
            issuer.cert.tbs_certificate().subject_public_key_info(),
            algorithm,
            &self.tbs,
            &self.signature,
            "of a certificate",
        )
    }

    /// The subject key identifier, if the certificate has one.
    pub(super) fn subject_key_identifier(&self) -> Option<Vec<u8>> {
        let (_, ski) = self
            .cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .ok()??;
        Some(ski.0.as_bytes().to_vec())
    }

    /// Refuses the certificate unless `at_ms` (Unix milliseconds) is inside its validity.
    pub(super) fn check_valid_at(&self, at_ms: i64) -> Result<(), TimestampError> {
        let validity = self.cert.tbs_certificate().validity();
        let millis = |t: &x509_cert::time::Time| {
            i128::try_from(t.to_unix_duration().as_millis()).unwrap_or(i128::MAX)
        };
        let at = i128::from(at_ms);
        if at < millis(&validity.not_before) {
            return Err(self.error("not yet valid at the timestamp's time"));
        }
        if at > millis(&validity.not_after) {
            return Err(self.error("expired at the timestamp's time"));
        }
        Ok(())
    }

    /// Refuses duplicate extensions and critical extensions this verifier does not process
    /// (RFC 5280 4.2: such a certificate must be rejected).
    pub(super) fn check_extensions(&self) -> Result<(), TimestampError> {
        let understood = [
            oids::CE_BASIC_CONSTRAINTS,
            oids::CE_KEY_USAGE,
            oids::CE_EXT_KEY_USAGE,
            oids::CE_SUBJECT_ALT_NAME,
            oids::CE_ISSUER_ALT_NAME,
            oids::CE_CERTIFICATE_POLICIES,
            oids::CE_SUBJECT_KEY_IDENTIFIER,
        ];
        let mut seen = HashSet::new();
        for extension in self
            .cert
            .tbs_certificate()
            .extensions()
            .map_or(&[][..], Vec::as_slice)
        {
            if !seen.insert(extension.extn_id) {
                return Err(self.error(format!("extension {} appears twice", extension.extn_id)));
            }
            if extension.critical && !understood.contains(&extension.extn_id) {
                return Err(self.error(format!(
                    "critical extension {} is not supported",
                    extension.extn_id
                )));
            }
        }
        Ok(())
    }

    /// Refuses a TSA certificate whose key may not sign timestamps (RFC 3161 2.3): the extended
    /// key usage must be present, critical and only `id-kp-timeStamping`; a key usage, if
    /// present, must allow digitalSignature or nonRepudiation.
    pub(super) fn check_timestamping_purpose(&self) -> Result<(), TimestampError> {
        let tbs = self.cert.tbs_certificate();
        match tbs.get_extension::<ExtendedKeyUsage>() {
            Ok(Some((true, eku))) if eku.0 == [oids::KP_TIME_STAMPING] => {}
            Ok(Some((false, _))) => {
                return Err(self.error("the extended key usage extension is not critical"));
            }
            Ok(Some(_)) => {
                return Err(self.error("the extended key usage is not only timeStamping"));
            }
            Ok(None) => return Err(self.error("no extended key usage timeStamping")),
            Err(_) => return Err(self.error("malformed extended key usage")),
        }
        match tbs.get_extension::<KeyUsage>() {
            Ok(None) => Ok(()),
            Ok(Some((_, usage))) if usage.digital_signature() || usage.non_repudiation() => Ok(()),
            Ok(Some(_)) => Err(self.error("the key usage does not allow signatures")),
            Err(_) => Err(self.error("malformed key usage")),
        }
    }

    /// Refuses an issuer that may not sign certificates: it must be a CA (basic constraints;
    /// a trust anchor without them, such as a version 1 root, is taken as one), allow
    /// keyCertSign if it has a key usage, and its path length must allow the
    /// `intermediates_below` CA certificates between it and the TSA's certificate.
    pub(super) fn check_issuer(
        &self,
        intermediates_below: usize,
        is_anchor: bool,
    ) -> Result<(), TimestampError> {
        let tbs = self.cert.tbs_certificate();
        match tbs.get_extension::<BasicConstraints>() {
            Ok(None) if is_anchor => {}
            Ok(Some((_, constraints))) if constraints.ca => {
                if let Some(max) = constraints.path_len_constraint {
                    if intermediates_below > usize::from(max) {
                        return Err(self.error("its path length constraint is exceeded"));
                    }
                }
            }
            Ok(_) => return Err(self.error("it is not a CA certificate")),
            Err(_) => return Err(self.error("malformed basic constraints")),
        }
        match tbs.get_extension::<KeyUsage>() {
            Ok(None) => Ok(()),
            Ok(Some((_, usage))) if usage.key_cert_sign() => Ok(()),
            Ok(Some(_)) => Err(self.error("its key usage does not allow keyCertSign")),
            Err(_) => Err(self.error("malformed key usage")),
        }
    }
}

/// The CA certificates a TSA's certificate must chain to, from a PEM bundle.
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    /// The anchors.
    pub(super) certs: Vec<Cert>,
}

impl TrustAnchors {
    /// Reads every `CERTIFICATE` block of a PEM bundle (text between blocks, such as the
    /// comments of a CA bundle, and other block types are ignored). Fails if a certificate
    /// block does not decode or if there is none.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TimestampError> {
        const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
        const END: &[u8] = b"-----END CERTIFICATE-----";
        let mut certs = Vec::new();
        let mut rest = pem;
        while let Some(start) = find(rest, BEGIN) {
            let block = &rest[start..];
            let end = find(block, END)
                .ok_or_else(|| TimestampError::Anchors("a certificate block has no end".into()))?
                + END.len();
            let (label, der) = der::pem::decode_vec(&block[..end])
                .map_err(|e| TimestampError::Anchors(format!("bad PEM: {e}")))?;
            if label != "CERTIFICATE" {
                return Err(TimestampError::Anchors(format!(
                    "unexpected PEM label {label}"
                )));
            }
            let cert = Cert::from_der(&der).map_err(|e| {
                TimestampError::Anchors(format!("certificate {}: {e}", certs.len() + 1))
            })?;
            certs.push(cert);
            rest = &block[end..];
        }
        if certs.is_empty() {
            return Err(TimestampError::Anchors(
                "no certificate in the PEM bundle".into(),
            ));
        }
        Ok(Self { certs })
    }

    /// The number of anchors.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether there are no anchors (never true for a bundle read by [`Self::from_pem`]).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Whether `cert` is itself an anchor (same DER).
    pub(super) fn contains(&self, cert: &Cert) -> bool {
        self.certs.iter().any(|anchor| anchor.der == cert.der)
    }
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

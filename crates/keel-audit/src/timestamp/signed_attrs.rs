//! The checks on a timestamp signer's signed attributes: content type, message digest and the
//! ESS signing-certificate that binds the signature to one certificate.

use std::collections::HashSet;

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};

use super::certs::Cert;
use super::cms::{self, Attribute};
use super::crypto::DigestAlgorithm;
use super::error::TimestampError;
use super::oids;

/// The one value of the attribute `oid`: `None` if absent, an error if it appears twice or
/// has other than one value.
fn single_value<'a, 'b>(
    attributes: &'b [Attribute<'a>],
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<Option<&'b AnyRef<'a>>, TimestampError> {
    let mut matching = attributes.iter().filter(|a| a.oid == oid);
    let Some(attribute) = matching.next() else {
        return Ok(None);
    };
    if matching.next().is_some() {
        return Err(TimestampError::invalid(name, "the attribute appears twice"));
    }
    match attribute.values.as_slice() {
        [value] => Ok(Some(value)),
        _ => Err(TimestampError::invalid(
            name,
            "the attribute must have one value",
        )),
    }
}

/// Checks the content-type and message-digest signed attributes against the `TSTInfo`.
pub(super) fn check_content(
    attributes: &[Attribute<'_>],
    digest: DigestAlgorithm,
    tst_info_der: &[u8],
) -> Result<(), TimestampError> {
    let mut oids_seen = HashSet::new();
    if !attributes.iter().all(|a| oids_seen.insert(a.oid)) {
        return Err(TimestampError::invalid(
            "signed attributes",
            "an attribute type appears twice",
        ));
    }
    let content_type = single_value(attributes, oids::CONTENT_TYPE, "content-type attribute")?
        .ok_or_else(|| TimestampError::invalid("signed attributes", "no content-type"))?;
    let content_type: ObjectIdentifier = content_type
        .decode_as()
        .map_err(TimestampError::malformed("content-type attribute"))?;
    if content_type != oids::CT_TST_INFO {
        return Err(TimestampError::invalid(
            "content-type attribute",
            "the signed content type is not id-ct-TSTInfo",
        ));
    }
    let message_digest =
        single_value(attributes, oids::MESSAGE_DIGEST, "message-digest attribute")?
            .ok_or_else(|| TimestampError::invalid("signed attributes", "no message-digest"))?;
    let message_digest: &OctetStringRef = message_digest
        .decode_as()
        .map_err(TimestampError::malformed("message-digest attribute"))?;
    if message_digest.as_bytes() != digest.digest(tst_info_der) {
        return Err(TimestampError::ContentDigestMismatch);
    }
    Ok(())
}

/// Checks the ESS signing-certificate attributes (RFC 2634 v1 with SHA-1, RFC 5035 v2): at
/// least one is present (RFC 3161 2.4.2), and in each the first `ESSCertID`'s hash is the
/// signer certificate's.
pub(super) fn check_signing_certificate(
    attributes: &[Attribute<'_>],
    signer: &Cert,
) -> Result<(), TimestampError> {
    let v1 = single_value(attributes, oids::SIGNING_CERTIFICATE, "signingCertificate")?;
    let v2 = single_value(
        attributes,
        oids::SIGNING_CERTIFICATE_V2,
        "signingCertificateV2",
    )?;
    if v1.is_none() && v2.is_none() {
        return Err(TimestampError::invalid(
            "signed attributes",
            "no ESS signing-certificate attribute",
        ));
    }
    if let Some(value) = v1 {
        let hash = cms::first_ess_cert_hash(value, false)
            .map_err(TimestampError::malformed("signingCertificate"))?;
        if hash.1 != DigestAlgorithm::Sha1.digest(&signer.der) {
            return Err(signer.error("it is not the certificate named by signingCertificate"));
        }
    }
    if let Some(value) = v2 {
        let (algorithm, hash) = cms::first_ess_cert_hash(value, true)
            .map_err(TimestampError::malformed("signingCertificateV2"))?;
        let algorithm = match algorithm {
            Some(algorithm) => DigestAlgorithm::for_signing(&algorithm)?,
            None => DigestAlgorithm::Sha256,
        };
        if hash != algorithm.digest(&signer.der) {
            return Err(signer.error("it is not the certificate named by signingCertificateV2"));
        }
    }
    Ok(())
}

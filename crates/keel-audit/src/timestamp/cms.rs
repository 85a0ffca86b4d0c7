//! The parts of CMS `SignedData` (RFC 5652) a timestamp token uses, decoded so that the exact
//! bytes that the signature and digests cover are kept.
//!
//! Why not the `cms` crate: its only release on `der` 0.8 is a release candidate (0.3.0-rc.0),
//! and, like every `der` `SetOfVec`, it sorts a SET OF while decoding. The TSA's signature covers
//! the signed attributes as the TSA encoded them, so a verifier must hash the received bytes,
//! not a re-encoding; the same goes for each certificate's `tbsCertificate` (see `certs`). These
//! views borrow the input and hand back the raw slices next to the decoded fields.

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::error::TimestampError;
use super::{MAX_CERTIFICATES, MAX_SIGNED_ATTRIBUTES};

/// The most `SignerInfo`s decoded (a timestamp token must have exactly one).
const MAX_SIGNER_INFOS: usize = 4;

/// The most elements decoded in `digestAlgorithms` and in one attribute's values.
const MAX_SET_ELEMENTS: usize = 16;

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }`: the content type
/// and the content's full DER (tag and length included).
pub(super) fn parse_content_info(der: &[u8]) -> der::Result<(ObjectIdentifier, &[u8])> {
    let mut reader = SliceReader::new(der)?;
    let parsed = reader.sequence(|r| {
        let content_type = r.decode()?;
        let content = explicit_field(r, 0)?;
        Ok::<_, der::Error>((content_type, content))
    })?;
    reader.finish()?;
    Ok(parsed)
}

/// A decoded `SignedData`.
#[derive(Debug)]
pub(super) struct SignedData<'a> {
    /// `version`.
    pub version: u8,
    /// `digestAlgorithms`.
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// `encapContentInfo.eContentType`.
    pub content_type: ObjectIdentifier,
    /// The octets of `encapContentInfo.eContent`, if present.
    pub content: Option<&'a [u8]>,
    /// The full DER of each `certificates` entry that is a plain X.509 certificate (the other
    /// `CertificateChoices` are skipped).
    pub certificates: Vec<&'a [u8]>,
    /// `signerInfos`.
    pub signer_infos: Vec<SignerInfo<'a>>,
}

/// `SignerIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] }`.
#[derive(Debug)]
pub(super) enum SignerId<'a> {
    /// The certificate's issuer and the content octets of its serial number.
    IssuerAndSerial {
        /// `issuer`.
        issuer: Name,
        /// The serial number's INTEGER content octets.
        serial: &'a [u8],
    },
    /// The certificate's subject key identifier.
    KeyId(&'a [u8]),
}

/// A decoded `SignerInfo`.
#[derive(Debug)]
pub(super) struct SignerInfo<'a> {
    /// `version` (1 with an issuer and serial, 3 with a key identifier).
    pub version: u8,
    /// `sid`.
    pub sid: SignerId<'a>,
    /// `digestAlgorithm`.
    pub digest_algorithm: AlgorithmIdentifierOwned,
    /// The contents of `signedAttrs` as received (the attributes without the `[0]` header).
    pub signed_attrs: Option<&'a [u8]>,
    /// `signatureAlgorithm`.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// `signature`.
    pub signature: &'a [u8],
}

/// The DER that a signer's signature covers: the contents of its `signedAttrs` with an
/// explicit SET OF tag (RFC 5652 section 5.4), over the received bytes.
pub(super) fn signed_attrs_der(content: &[u8]) -> der::Result<Vec<u8>> {
    let header = Header::new(Tag::Set, Length::try_from(content.len())?);
    let mut der = header.to_der()?;
    der.extend_from_slice(content);
    Ok(der)
}

/// One attribute: `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY }`.
#[derive(Debug)]
pub(super) struct Attribute<'a> {
    /// `attrType`.
    pub oid: ObjectIdentifier,
    /// `attrValues`, in received order.
    pub values: Vec<AnyRef<'a>>,
}

/// Decodes a `SignedData` from its full DER.
pub(super) fn parse_signed_data(der: &[u8]) -> Result<SignedData<'_>, TimestampError> {
    let structure = "SignedData";
    let mut reader = SliceReader::new(der).map_err(TimestampError::malformed(structure))?;
    let signed_data = reader
        .sequence(|r| {
            let version = r.decode()?;
            let digest_algorithms = set_of(r, MAX_SET_ELEMENTS, |r| r.decode())?;
            let (content_type, content) = r.sequence(|r| {
                let content_type = r.decode()?;
                let content = if r.is_finished() {
                    None
                } else {
                    let octets = explicit_field(r, 0)?;
                    Some(<&OctetStringRef>::from_der(octets)?.as_bytes())
                };
                Ok::<_, der::Error>((content_type, content))
            })?;
            let certificates = match implicit_field(r, 0)? {
                Some(set) => certificate_set(set)?,
                None => Vec::new(),
            };
            // `crls [1] IMPLICIT RevocationInfoChoices OPTIONAL`: not used, skipped whole.
            implicit_field(r, 1)?;
            let signer_infos = set_of(r, MAX_SIGNER_INFOS, signer_info)?;
            Ok::<_, der::Error>(SignedData {
                version,
                digest_algorithms,
                content_type,
                content,
                certificates,
                signer_infos,
            })
        })
        .map_err(TimestampError::malformed(structure))?;
    reader
        .finish()
        .map_err(TimestampError::malformed(structure))?;
    Ok(signed_data)
}

/// Decodes the signed attributes (the contents of `signedAttrs`), in received order.
pub(super) fn parse_attributes(content: &[u8]) -> Result<Vec<Attribute<'_>>, TimestampError> {
    let structure = "signed attributes";
    let mut reader = SliceReader::new(content).map_err(TimestampError::malformed(structure))?;
    let mut attributes = Vec::new();
    while !reader.is_finished() {
        if attributes.len() == MAX_SIGNED_ATTRIBUTES {
            return Err(TimestampError::Limit("too many signed attributes"));
        }
        let attribute = reader
            .sequence(|r| {
                let oid = r.decode()?;
                let values = set_of(r, MAX_SET_ELEMENTS, |r| r.decode())?;
                Ok::<_, der::Error>(Attribute { oid, values })
            })
            .map_err(TimestampError::malformed(structure))?;
        attributes.push(attribute);
    }
    Ok(attributes)
}

/// Decodes one `SignerInfo`.
fn signer_info<'a>(reader: &mut SliceReader<'a>) -> der::Result<SignerInfo<'a>> {
    reader.sequence(|r| {
        let version = r.decode()?;
        let sid = if Tag::peek(r)? == context_tag(0, false) {
            let header = Header::decode(r)?;
            SignerId::KeyId(r.read_slice(header.length())?)
        } else {
            r.sequence(|r| {
                let issuer = r.decode()?;
                let serial = der::asn1::IntRef::decode(r)?.as_bytes();
                Ok::<_, der::Error>(SignerId::IssuerAndSerial { issuer, serial })
            })?
        };
        let digest_algorithm = r.decode()?;
        let signed_attrs = implicit_field(r, 0)?;
        let signature_algorithm = r.decode()?;
        let signature = <&OctetStringRef>::decode(r)?.as_bytes();
        // `unsignedAttrs [1] IMPLICIT`: not used, skipped whole.
        implicit_field(r, 1)?;
        Ok(SignerInfo {
            version,
            sid,
            digest_algorithm,
            signed_attrs,
            signature_algorithm,
            signature,
        })
    })
}

/// The full DER of each plain certificate in a `CertificateSet`'s contents.
fn certificate_set(content: &[u8]) -> der::Result<Vec<&[u8]>> {
    let mut reader = SliceReader::new(content)?;
    let mut certificates = Vec::new();
    let mut entries = 0;
    while !reader.is_finished() {
        entries += 1;
        if entries > MAX_CERTIFICATES {
            return Err(reader.error(der::ErrorKind::Overlength));
        }
        let is_certificate = Tag::peek(&reader)? == Tag::Sequence;
        let tlv = reader.tlv_bytes()?;
        if is_certificate {
            certificates.push(tlv);
        }
    }
    Ok(certificates)
}

/// A SET OF read element by element, in received order, refusing more than `max` elements.
fn set_of<'a, T>(
    reader: &mut SliceReader<'a>,
    max: usize,
    mut element: impl FnMut(&mut SliceReader<'a>) -> der::Result<T>,
) -> der::Result<Vec<T>> {
    let header = Header::decode(reader)?;
    header.tag().assert_eq(Tag::Set)?;
    reader.read_nested(header.length(), |r| {
        let mut elements = Vec::new();
        while !r.is_finished() {
            if elements.len() == max {
                return Err(r.error(der::ErrorKind::Overlength));
            }
            elements.push(element(r)?);
        }
        Ok(elements)
    })
}

/// The full DER inside a mandatory `[n] EXPLICIT` field.
fn explicit_field<'a>(reader: &mut SliceReader<'a>, number: u32) -> der::Result<&'a [u8]> {
    let header = Header::decode(reader)?;
    header.tag().assert_eq(context_tag(number, true))?;
    reader.read_nested(header.length(), |r| r.tlv_bytes())
}

/// The contents of an optional constructed `[n] IMPLICIT` field, if it is next.
fn implicit_field<'a>(reader: &mut SliceReader<'a>, number: u32) -> der::Result<Option<&'a [u8]>> {
    if reader.is_finished() || Tag::peek(reader)? != context_tag(number, true) {
        return Ok(None);
    }
    let header = Header::decode(reader)?;
    reader.read_slice(header.length()).map(Some)
}

/// The tag `[number]`, context-specific.
fn context_tag(number: u32, constructed: bool) -> Tag {
    Tag::ContextSpecific {
        constructed,
        number: TagNumber(number),
    }
}

/// The first certificate hash of an ESS `SigningCertificate` (`v2` false) or
/// `SigningCertificateV2` (`v2` true) attribute value, with the v2 hash algorithm if given.
///
/// ```text
/// SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }
/// ESSCertID ::= SEQUENCE { certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }
/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {id-sha256},
///                            certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
/// ```
pub(super) fn first_ess_cert_hash(
    value: &AnyRef<'_>,
    v2: bool,
) -> der::Result<(Option<AlgorithmIdentifierOwned>, Vec<u8>)> {
    value.tag().assert_eq(Tag::Sequence)?;
    let mut reader = SliceReader::new(value.value())?;
    let first = reader.sequence(|certs| {
        let first = certs.sequence(|id| {
            let algorithm = if v2 && Tag::peek(id)? == Tag::Sequence {
                Some(id.decode()?)
            } else {
                None
            };
            let hash = <&OctetStringRef>::decode(id)?.as_bytes().to_vec();
            // `issuerSerial`: redundant once the hash matches, skipped.
            if !id.is_finished() {
                id.tlv_bytes()?;
            }
            Ok::<_, der::Error>((algorithm, hash))
        })?;
        // The other certificate identifiers (of the chain): not needed, skipped.
        let rest = certs.remaining_len();
        certs.read_slice(rest)?;
        Ok::<_, der::Error>(first)
    })?;
    // `policies`: not used, skipped.
    if !reader.is_finished() {
        reader.tlv_bytes()?;
    }
    reader.finish()?;
    Ok(first)
}

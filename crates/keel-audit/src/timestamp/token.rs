//! From reply or token bytes to the signed `TSTInfo`: the decoding that [`accept`] and
//! [`verify`] share.
//!
//! [`accept`]: super::TimestampRequest::accept
//! [`verify`]: super::verify

use der::{Decode, Reader, SliceReader, Tag};

use super::cms::{self, SignedData};
use super::crypto::DigestAlgorithm;
use super::error::TimestampError;
use super::rfc3161::{PkiStatusInfo, TstInfo};
use super::{MAX_TOKEN_LEN, oids};

/// A `TimeStampResp`: its status and the full DER of its token, if any.
#[derive(Debug)]
pub(super) struct Response<'a> {
    /// `status`.
    pub status: PkiStatusInfo,
    /// `timeStampToken`, a CMS `ContentInfo`.
    pub token: Option<&'a [u8]>,
}

impl<'a> Response<'a> {
    /// The token of a granted reply; an error carrying the status otherwise.
    pub(super) fn granted_token(&self) -> Result<&'a [u8], TimestampError> {
        if !self.status.is_granted() {
            return Err(TimestampError::Rejected {
                status: self.status.status,
                text: self.status.text(),
                fail_info: self.status.fail_info_names(),
            });
        }
        self.token
            .ok_or_else(|| TimestampError::invalid("TimeStampResp", "granted without a token"))
    }
}

/// A timestamp token, decoded.
#[derive(Debug)]
pub(super) struct Token<'a> {
    /// The `SignedData`.
    pub signed_data: SignedData<'a>,
    /// The `eContent` octets: the DER of the `TSTInfo` that the signer's digest covers.
    pub tst_info_der: &'a [u8],
    /// The decoded `TSTInfo`.
    pub tst_info: TstInfo,
}

/// Refuses inputs over [`MAX_TOKEN_LEN`].
pub(super) fn check_len(der: &[u8]) -> Result<(), TimestampError> {
    if der.len() > MAX_TOKEN_LEN {
        return Err(TimestampError::TooLarge {
            len: der.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    Ok(())
}

/// Decodes a `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken OPTIONAL }`,
/// keeping the token's exact bytes.
pub(super) fn parse_response(der: &[u8]) -> Result<Response<'_>, TimestampError> {
    check_len(der)?;
    let structure = "TimeStampResp";
    let mut reader = SliceReader::new(der).map_err(TimestampError::malformed(structure))?;
    let response = reader
        .sequence(|r| {
            let status = PkiStatusInfo::decode(r)?;
            let token = if r.is_finished() {
                None
            } else {
                Some(r.tlv_bytes()?)
            };
            Ok::<_, der::Error>(Response { status, token })
        })
        .map_err(TimestampError::malformed(structure))?;
    reader
        .finish()
        .map_err(TimestampError::malformed(structure))?;
    Ok(response)
}

/// Whether `der` looks like a `TimeStampResp` (a SEQUENCE whose first element is a SEQUENCE)
/// rather than a token `ContentInfo` (whose first element is an OID).
pub(super) fn is_response(der: &[u8]) -> bool {
    let Ok(mut reader) = SliceReader::new(der) else {
        return false;
    };
    reader
        .sequence(|r| {
            let tag = Tag::peek(r)?;
            // Leave the rest unread without failing on trailing data.
            let rest = r.remaining_len();
            r.read_slice(rest)?;
            Ok::<_, der::Error>(tag == Tag::Sequence)
        })
        .unwrap_or(false)
}

/// Decodes a token: a `ContentInfo` holding `SignedData` that encapsulates a `TSTInfo`.
pub(super) fn parse_token(der: &[u8]) -> Result<Token<'_>, TimestampError> {
    check_len(der)?;
    let (content_type, content) =
        cms::parse_content_info(der).map_err(TimestampError::malformed("ContentInfo"))?;
    if content_type != oids::SIGNED_DATA {
        return Err(TimestampError::invalid(
            "ContentInfo",
            "the content is not SignedData",
        ));
    }
    let signed_data = cms::parse_signed_data(content)?;
    if signed_data.content_type != oids::CT_TST_INFO {
        return Err(TimestampError::invalid(
            "SignedData",
            "the encapsulated content is not a TSTInfo",
        ));
    }
    let tst_info_der = signed_data
        .content
        .ok_or_else(|| TimestampError::invalid("SignedData", "the TSTInfo is missing"))?;
    let tst_info = TstInfo::from_der(tst_info_der).map_err(TimestampError::malformed("TSTInfo"))?;
    if tst_info.version != 1 {
        return Err(TimestampError::invalid("TSTInfo", "the version is not 1"));
    }
    Ok(Token {
        signed_data,
        tst_info_der,
        tst_info,
    })
}

/// Refuses a `TSTInfo` whose imprint is not SHA-256 (parameters absent or NULL) of value
/// `expected`.
pub(super) fn check_imprint(tst_info: &TstInfo, expected: &[u8; 32]) -> Result<(), TimestampError> {
    let imprint = &tst_info.message_imprint;
    let algorithm = DigestAlgorithm::from_identifier(&imprint.hash_algorithm)
        .map_err(|_| TimestampError::ImprintMismatch)?;
    if algorithm != DigestAlgorithm::Sha256 || imprint.hashed_message.as_bytes() != expected {
        return Err(TimestampError::ImprintMismatch);
    }
    Ok(())
}

//! The request sent to a TSA, and the check of its reply against that request.

use der::Encode;
use der::asn1::{Any, OctetString, Uint};
use sha2_011::{Digest, Sha256};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::error::TimestampError;
use super::rfc3161::{MessageImprint, TimeStampReq};
use super::{oids, token};

/// An RFC 3161 `TimeStampReq` for one message: version 1, a SHA-256 message imprint, a random
/// 64-bit nonce, and `certReq` TRUE (so the token carries the TSA's certificate and can be
/// verified offline).
#[derive(Clone, Debug)]
pub struct TimestampRequest {
    imprint: [u8; 32],
    nonce: u64,
    der: Vec<u8>,
}

impl TimestampRequest {
    /// A request for `message` with a fresh nonce from the operating system's generator.
    pub fn new(message: &[u8]) -> Result<Self, TimestampError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| TimestampError::Random(e.to_string()))?;
        // Never 0, so the nonce always takes 1 to 8 content bytes.
        Self::with_nonce(message, u64::from_be_bytes(bytes).max(1))
    }

    /// A request for `message` with the given nonce (tests use it to repeat a nonce).
    pub(super) fn with_nonce(message: &[u8], nonce: u64) -> Result<Self, TimestampError> {
        let imprint: [u8; 32] = Sha256::digest(message).into();
        let request = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: oids::SHA256,
                    // NULL parameters, as OpenSSL sends them; RFC 5754 lets a TSA accept both.
                    parameters: Some(Any::null()),
                },
                hashed_message: OctetString::new(imprint)
                    .map_err(TimestampError::malformed("TimeStampReq"))?,
            },
            req_policy: None,
            nonce: Some(
                Uint::new(&nonce.to_be_bytes())
                    .map_err(TimestampError::malformed("TimeStampReq"))?,
            ),
            cert_req: true,
            extensions: None,
        };
        let der = request
            .to_der()
            .map_err(TimestampError::malformed("TimeStampReq"))?;
        Ok(Self {
            imprint,
            nonce,
            der,
        })
    }

    /// The request's DER, the body of an `application/timestamp-query` POST.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The nonce the reply must repeat.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The message imprint: SHA-256 of the message.
    pub fn message_imprint(&self) -> &[u8; 32] {
        &self.imprint
    }

    /// Checks a TSA's reply (`application/timestamp-reply`, a DER `TimeStampResp`) to this
    /// request: the status must be granted or grantedWithMods (else
    /// [`TimestampError::Rejected`] with the status, texts and failure bits), and the token's
    /// `TSTInfo` must repeat this request's imprint and nonce.
    ///
    /// This does not check the TSA's signature or certificate; [`verify`](super::verify) does,
    /// offline, against trust anchors.
    pub fn accept(&self, response_der: &[u8]) -> Result<TimestampToken, TimestampError> {
        let response = token::parse_response(response_der)?;
        let token_der = response.granted_token()?;
        let token = token::parse_token(token_der)?;
        token::check_imprint(&token.tst_info, &self.imprint)?;
        let nonce = token
            .tst_info
            .nonce
            .as_ref()
            .ok_or(TimestampError::NonceMismatch)?;
        if nonce.as_bytes() != integer_content(self.nonce) {
            return Err(TimestampError::NonceMismatch);
        }
        Ok(TimestampToken {
            response: response_der.to_vec(),
        })
    }
}

/// A granted `TimeStampResp` that answers a request, kept byte for byte as received.
///
/// Store [`response_der`](Self::response_der) (conventionally in a `.tsr` file): `openssl ts
/// -verify -in <file> -data <message> -CAfile <ca.pem>` and [`verify`](super::verify) both take
/// it as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampToken {
    response: Vec<u8>,
}

impl TimestampToken {
    /// The whole `TimeStampResp` DER, as received from the TSA.
    pub fn response_der(&self) -> &[u8] {
        &self.response
    }

    /// The same bytes, owned.
    pub fn into_response_der(self) -> Vec<u8> {
        self.response
    }
}

/// The DER content octets of the INTEGER `value`: big-endian without leading zeros, with one
/// zero byte in front if the high bit is set (so that it stays positive).
fn integer_content(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let magnitude = &bytes[start..];
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        [&[0][..], magnitude].concat()
    } else {
        magnitude.to_vec()
    }
}

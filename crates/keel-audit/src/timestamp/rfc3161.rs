//! The RFC 3161 ASN.1 structures, hand-written with `der`'s derive macros.
//!
//! No maintained crate has them for `der` 0.8: RustCrypto's `x509-tsp` 0.1 is built on `der`
//! 0.7 and `cms` 0.2, which would put a second copy of the whole DER/X.509 stack in the build.
//! The definitions follow RFC 3161 section 2.4 (module `PKIXTSP`, implicit tagging).

use der::Sequence;
use der::asn1::{BitString, Int, ObjectIdentifier, OctetString, Uint};
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::gen_time::GenTime;

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct MessageImprint {
    /// The digest algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The digest of the timestamped data.
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 section 2.4.1).
///
/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TimeStampReq {
    /// Always 1.
    pub version: u8,
    /// What to timestamp.
    pub message_imprint: MessageImprint,
    /// The TSA policy asked for, if any.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// The nonce the `TSTInfo` must repeat.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// Whether the TSA must include its certificate in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Request extensions (none are sent).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo` (RFC 3161 section 2.4.2, from RFC 4210).
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// PKIFailureInfo ::= BIT STRING
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct PkiStatusInfo {
    /// 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4 revocationWarning,
    /// 5 revocationNotification.
    pub status: u32,
    /// Texts for a human.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// The reasons for a failure, one bit each.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// The `PKIFailureInfo` bits RFC 3161 defines, by bit number.
const FAILURE_BITS: [(usize, &str); 8] = [
    (0, "badAlg"),
    (2, "badRequest"),
    (5, "badDataFormat"),
    (14, "timeNotAvailable"),
    (15, "unacceptedPolicy"),
    (16, "unacceptedExtension"),
    (17, "addInfoNotAvailable"),
    (25, "systemFailure"),
];

impl PkiStatusInfo {
    /// Whether the status is granted (0) or grantedWithMods (1).
    pub(super) fn is_granted(&self) -> bool {
        self.status <= 1
    }

    /// The status texts joined with "; ".
    pub(super) fn text(&self) -> String {
        self.status_string.as_deref().unwrap_or_default().join("; ")
    }

    /// The names of the RFC 3161 failure bits set (other bits are left out).
    pub(super) fn fail_info_names(&self) -> Vec<&'static str> {
        let Some(bits) = &self.fail_info else {
            return Vec::new();
        };
        let bytes = bits.raw_bytes();
        FAILURE_BITS
            .iter()
            .filter(|(bit, _)| {
                bytes
                    .get(bit / 8)
                    .is_some_and(|b| b & (0x80 >> (bit % 8)) != 0)
            })
            .map(|(_, name)| *name)
            .collect()
    }
}

/// `Accuracy` (RFC 3161 section 2.4.2).
///
/// ```text
/// Accuracy ::= SEQUENCE {
///     seconds        INTEGER              OPTIONAL,
///     millis     [0] INTEGER  (1..999)    OPTIONAL,
///     micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    /// Milliseconds.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

impl Accuracy {
    /// The accuracy in microseconds, `None` if it overflows or a part is out of its range.
    pub(super) fn micros(&self) -> Option<u64> {
        let millis = self.millis.unwrap_or(0);
        let micros = self.micros.unwrap_or(0);
        if millis > 999 || micros > 999 {
            return None;
        }
        self.seconds
            .unwrap_or(0)
            .checked_mul(1_000_000)?
            .checked_add(u64::from(millis) * 1_000 + u64::from(micros))
    }
}

/// `TSTInfo` (RFC 3161 section 2.4.2), the content the TSA signs.
///
/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
///
/// `tsa` is explicitly tagged: a tag on a CHOICE is always explicit.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TstInfo {
    /// Always 1.
    pub version: u8,
    /// The TSA policy under which the token was issued.
    pub policy: ObjectIdentifier,
    /// The request's imprint, repeated.
    pub message_imprint: MessageImprint,
    /// The token's serial number, unique per TSA.
    pub serial_number: Int,
    /// When the token was created.
    pub gen_time: GenTime,
    /// How far `gen_time` may be from UTC.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens from this TSA are ordered by `gen_time` regardless of accuracy.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce, repeated.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

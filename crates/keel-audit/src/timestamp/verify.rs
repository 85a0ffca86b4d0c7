//! Offline verification of a stored timestamp against trust anchors, and what it proves.

use sha2_011::{Digest, Sha256};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::certs::{Cert, TrustAnchors};
use super::chain::{self, SignatureBudget};
use super::cms::{self, SignedData, SignerId, SignerInfo};
use super::crypto::{self, DigestAlgorithm, SignatureAlgorithm};
use super::error::TimestampError;
use super::rfc3161::TstInfo;
use super::{signed_attrs, token};

/// What a verified timestamp states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampInfo {
    /// When the TSA timestamped the message, in milliseconds since the Unix epoch.
    pub gen_time_unix_ms: i64,
    /// The same instant in RFC 3339 (UTC), with the fraction of a second the TSA gave.
    pub gen_time: String,
    /// The TSA's accuracy bound on `gen_time`, in microseconds, if it states one.
    pub accuracy_micros: Option<u64>,
    /// The token's serial number, lowercase big-endian hex (as `openssl ts -reply -text` shows
    /// it, without the `0x`).
    pub serial_number: String,
    /// The TSA policy OID, dotted.
    pub policy: String,
    /// The TSA's name from the `TSTInfo`, if present (a directory name in RFC 4514 form).
    pub tsa_name: Option<String>,
    /// The subject of the certificate that signed the token, RFC 4514 style.
    pub signer: String,
    /// The certificate chain's subjects, from the TSA's certificate to the trust anchor.
    pub chain: Vec<String>,
}

/// Verifies a stored timestamp for `message` offline.
///
/// `der` is a `TimeStampResp` (what [`TimestampToken`](super::TimestampToken) stores; its
/// status must be granted) or a bare token (`ContentInfo`, as `openssl ts -token_out` writes).
/// The checks, each failing with its own [`TimestampError`]:
///
/// - the `TSTInfo` message imprint is SHA-256 of `message`;
/// - there is exactly one signer; its signed attributes hold one content-type (`id-ct-TSTInfo`)
///   and one message-digest equal to the digest (SHA-256/384/512) of the `TSTInfo` as received,
///   and an ESS signing-certificate attribute (v1 or v2) whose first hash is that of the signer's
///   certificate;
/// - the signer's certificate, found in the token (or among the anchors) by issuer and serial
///   number or by subject key identifier, verifies the signature over the signed attributes
///   (RSA PKCS#1 v1.5, ECDSA P-256/P-384, Ed25519);
/// - that certificate's key purpose is only timeStamping, in a critical extension, and it bears
///   the `TSTInfo`'s TSA name, if there is one, as subject or alternative name;
/// - it chains to one of `anchors`, through certificates of the token, with every signature
///   checked, and every certificate of the chain valid at the token's `genTime`.
pub fn verify(
    der: &[u8],
    message: &[u8],
    anchors: &TrustAnchors,
) -> Result<TimestampInfo, TimestampError> {
    token::check_len(der)?;
    let token_der = if token::is_response(der) {
        token::parse_response(der)?.granted_token()?
    } else {
        der
    };
    let token = token::parse_token(token_der)?;
    let imprint: [u8; 32] = Sha256::digest(message).into();
    token::check_imprint(&token.tst_info, &imprint)?;

    let signed_data = &token.signed_data;
    check_signed_data_version(signed_data)?;
    let [signer] = signed_data.signer_infos.as_slice() else {
        return Err(TimestampError::invalid(
            "SignedData",
            "a timestamp token must have exactly one signer",
        ));
    };
    let digest = DigestAlgorithm::for_signing(&signer.digest_algorithm)?;
    if !signed_data.digest_algorithms.iter().any(|a| {
        a.oid == signer.digest_algorithm.oid && DigestAlgorithm::from_identifier(a).is_ok()
    }) {
        return Err(TimestampError::invalid(
            "SignedData",
            "digestAlgorithms does not list the signer's digest algorithm",
        ));
    }
    let signed_attrs = signer.signed_attrs.ok_or_else(|| {
        TimestampError::invalid(
            "SignerInfo",
            "a timestamp token must have signed attributes",
        )
    })?;
    let attributes = cms::parse_attributes(signed_attrs)?;
    signed_attrs::check_content(&attributes, digest, token.tst_info_der)?;

    let certificates = signed_data
        .certificates
        .iter()
        .map(|der| Cert::from_der(der))
        .collect::<Result<Vec<_>, _>>()?;
    let signer_cert = find_signer(signer, &certificates, anchors)?;
    signer_cert.check_timestamping_purpose()?;

    let mut budget = SignatureBudget::new();
    budget.spend()?;
    let signed =
        cms::signed_attrs_der(signed_attrs).map_err(TimestampError::malformed("SignerInfo"))?;
    let algorithm = SignatureAlgorithm::for_signer(&signer.signature_algorithm, digest)?;
    crypto::verify_signature(
        signer_cert.cert.tbs_certificate().subject_public_key_info(),
        algorithm,
        &signed,
        signer.signature,
        "of the timestamp token",
    )?;
    signed_attrs::check_signing_certificate(&attributes, signer_cert)?;
    check_tsa_name(&token.tst_info, signer_cert)?;

    let gen_time = &token.tst_info.gen_time;
    let chain = chain::build_chain(
        signer_cert,
        &certificates,
        anchors,
        gen_time.unix_ms(),
        &mut budget,
    )?;

    let tst_info = &token.tst_info;
    Ok(TimestampInfo {
        gen_time_unix_ms: gen_time.unix_ms(),
        gen_time: gen_time.rfc3339().to_owned(),
        accuracy_micros: tst_info.accuracy.as_ref().and_then(|a| a.micros()),
        serial_number: serial_hex(tst_info.serial_number.as_bytes()),
        policy: tst_info.policy.to_string(),
        tsa_name: tst_info.tsa.as_ref().map(general_name_text),
        signer: signer_cert.subject(),
        chain,
    })
}

/// Refuses `SignedData` and `SignerInfo` versions RFC 5652 does not allow for a token.
fn check_signed_data_version(signed_data: &SignedData<'_>) -> Result<(), TimestampError> {
    // 3 for any content other than id-data; 4 and 5 with other certificate or CRL formats.
    if !(3..=5).contains(&signed_data.version) {
        return Err(TimestampError::invalid(
            "SignedData",
            "the version is not 3, 4 or 5",
        ));
    }
    for signer in &signed_data.signer_infos {
        let expected = match signer.sid {
            SignerId::IssuerAndSerial { .. } => 1,
            SignerId::KeyId(_) => 3,
        };
        if signer.version != expected {
            return Err(TimestampError::invalid(
                "SignerInfo",
                "the version does not match the signer identifier",
            ));
        }
    }
    Ok(())
}

/// Finds the signer's certificate among the token's certificates, then the anchors.
fn find_signer<'c>(
    signer: &SignerInfo<'_>,
    certificates: &'c [Cert],
    anchors: &'c TrustAnchors,
) -> Result<&'c Cert, TimestampError> {
    let matches = |cert: &&Cert| {
        let tbs = cert.cert.tbs_certificate();
        match &signer.sid {
            SignerId::IssuerAndSerial { issuer, serial } => {
                tbs.issuer() == issuer && tbs.serial_number().as_bytes() == *serial
            }
            SignerId::KeyId(key_id) => cert.subject_key_identifier().as_deref() == Some(*key_id),
        }
    };
    certificates
        .iter()
        .find(matches)
        .or_else(|| anchors.certs.iter().find(matches))
        .ok_or(TimestampError::SignerCertificateNotFound)
}

/// Refuses a `TSTInfo` whose `tsa` name is not one of the signer certificate's names (RFC 3161
/// 2.4.2: it "MUST correspond to one of the subject names included in the certificate").
fn check_tsa_name(tst_info: &TstInfo, signer: &Cert) -> Result<(), TimestampError> {
    let Some(name) = &tst_info.tsa else {
        return Ok(());
    };
    let tbs = signer.cert.tbs_certificate();
    if let GeneralName::DirectoryName(name) = name {
        if name == tbs.subject() {
            return Ok(());
        }
    }
    let in_alt_names = matches!(
        tbs.get_extension::<SubjectAltName>(),
        Ok(Some((_, alt_names))) if alt_names.0.contains(name)
    );
    if in_alt_names {
        return Ok(());
    }
    Err(signer.error(format!(
        "the TSTInfo names the TSA {:?}, not this certificate's subject or alternative names",
        general_name_text(name)
    )))
}

/// A `GeneralName` as text: a directory name in RFC 4514 form, DNS names, URIs and e-mail
/// addresses as they are, other forms by kind.
fn general_name_text(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(name) => name.to_string(),
        GeneralName::DnsName(name) => name.to_string(),
        GeneralName::UniformResourceIdentifier(uri) => uri.to_string(),
        GeneralName::Rfc822Name(mail) => mail.to_string(),
        _ => "(a general name of another form)".to_owned(),
    }
}

/// Lowercase hex of a serial number's INTEGER content octets, without the zero byte DER puts
/// in front of a positive number whose high bit is set.
fn serial_hex(bytes: &[u8]) -> String {
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => bytes,
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

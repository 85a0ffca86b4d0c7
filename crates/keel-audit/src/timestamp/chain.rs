//! Chain building from the TSA's certificate to a trust anchor, with every link's signature
//! checked and the work bounded.

use super::certs::{Cert, TrustAnchors};
use super::error::TimestampError;
use super::{MAX_CHAIN_LEN, MAX_SIGNATURE_CHECKS};

/// A budget of signature verifications, shared by one verification's steps.
#[derive(Debug)]
pub(super) struct SignatureBudget(usize);

impl SignatureBudget {
    /// The budget of one [`verify`](super::verify) call.
    pub(super) fn new() -> Self {
        Self(MAX_SIGNATURE_CHECKS)
    }

    /// Takes one verification from the budget, or fails if none is left.
    pub(super) fn spend(&mut self) -> Result<(), TimestampError> {
        self.0 = self
            .0
            .checked_sub(1)
            .ok_or(TimestampError::Limit("too many signature verifications"))?;
        Ok(())
    }
}

/// Builds a chain from `leaf` to one of `anchors` through `intermediates` and checks it at the
/// instant `at_ms` (Unix milliseconds). Returns the subjects from the leaf up to the anchor.
///
/// Each step looks for the current certificate's issuer by name, among the anchors first and
/// then the unused intermediates, and takes the first whose key verifies the certificate's
/// signature. Every certificate on the path must be valid at `at_ms`, have no unsupported
/// critical extension, and every issuer must be a CA allowed to issue at that depth. The leaf
/// may itself be an anchor. At most [`MAX_CHAIN_LEN`] certificates, and signature checks come
/// out of `budget`.
pub(super) fn build_chain(
    leaf: &Cert,
    intermediates: &[Cert],
    anchors: &TrustAnchors,
    at_ms: i64,
    budget: &mut SignatureBudget,
) -> Result<Vec<String>, TimestampError> {
    let mut used = vec![false; intermediates.len()];
    let mut current = leaf;
    let mut path = vec![leaf.subject()];
    current.check_valid_at(at_ms)?;
    current.check_extensions()?;
    loop {
        if anchors.contains(current) {
            return Ok(path);
        }
        if path.len() >= MAX_CHAIN_LEN {
            return Err(untrusted(current, "the chain is longer than the limit"));
        }
        let intermediates_below = path.len() - 1;
        for anchor in anchors
            .certs
            .iter()
            .filter(|a| current.is_issued_by_name(a))
        {
            budget.spend()?;
            if current.verify_signed_by(anchor).is_ok() {
                anchor.check_valid_at(at_ms)?;
                anchor.check_issuer(intermediates_below, true)?;
                path.push(anchor.subject());
                return Ok(path);
            }
        }
        let mut next = None;
        for (index, candidate) in intermediates.iter().enumerate() {
            if used[index] || !current.is_issued_by_name(candidate) {
                continue;
            }
            budget.spend()?;
            if current.verify_signed_by(candidate).is_ok() {
                next = Some(index);
                break;
            }
        }
        let Some(index) = next else {
            return Err(untrusted(
                current,
                "no trust anchor or certificate in the token issued it",
            ));
        };
        used[index] = true;
        let issuer = &intermediates[index];
        issuer.check_valid_at(at_ms)?;
        issuer.check_extensions()?;
        issuer.check_issuer(intermediates_below, false)?;
        path.push(issuer.subject());
        current = issuer;
    }
}

/// An [`TimestampError::Untrusted`] stopping at `cert`.
fn untrusted(cert: &Cert, reason: &'static str) -> TimestampError {
    TimestampError::Untrusted {
        subject: cert.subject(),
        reason,
    }
}

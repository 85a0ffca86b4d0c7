//! Verifying RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.

use crate::Error;
use crate::hash::{Hash, node_hash};

/// Checks that `proof` proves the leaf whose hash is `leaf` is at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2). [`Error::InvalidRange`] unless
/// `index < size`; [`Error::InvalidProof`] if the proof does not verify.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::InvalidRange);
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(Error::InvalidProof("the inclusion proof is too long"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(Error::InvalidProof("the inclusion proof is too short"));
    }
    if r != *root {
        return Err(Error::InvalidProof(
            "the inclusion proof leads to another root",
        ));
    }
    Ok(())
}

/// Checks that `proof` proves the tree of `second` leaves with root `second_root` extends the
/// tree of `first` leaves with root `first_root` (RFC 9162 §2.1.4.2). When `first == second`
/// the proof must be empty and the roots equal. [`Error::InvalidRange`] unless
/// `0 < first <= second`; [`Error::InvalidProof`] if the proof does not verify.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if first == 0 || first > second {
        return Err(Error::InvalidRange);
    }
    if first == second {
        if !proof.is_empty() {
            return Err(Error::InvalidProof(
                "the consistency proof between equal sizes must be empty",
            ));
        }
        if first_root != second_root {
            return Err(Error::InvalidProof("the roots of equal sizes differ"));
        }
        return Ok(());
    }
    // 1. An empty path fails.
    let Some((head, tail)) = proof.split_first() else {
        return Err(Error::InvalidProof("the consistency proof is empty"));
    };
    // 2. If first is an exact power of 2, the path starts with first_root.
    let (start, rest): (&Hash, &[Hash]) = if first.is_power_of_two() {
        (first_root, proof)
    } else {
        (head, tail)
    };
    // 3, 4.
    let mut f = first - 1;
    let mut s = second - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // 5.
    let mut fr = *start;
    let mut sr = *start;
    // 6.
    for c in rest {
        if s == 0 {
            return Err(Error::InvalidProof("the consistency proof is too long"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // 7.
    if s != 0 {
        return Err(Error::InvalidProof("the consistency proof is too short"));
    }
    if fr != *first_root {
        return Err(Error::InvalidProof(
            "the consistency proof leads to another first root",
        ));
    }
    if sr != *second_root {
        return Err(Error::InvalidProof(
            "the consistency proof leads to another second root",
        ));
    }
    Ok(())
}

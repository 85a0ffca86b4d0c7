//! A naive, recursive transcription of RFC 9162's definitions (MTH, PATH, PROOF), used as the
//! oracle for the tree module. Deliberately simple and independent of keel_audit::tree.

use keel_audit::hash::{Hash, empty_root, node_hash};

/// The largest power of two smaller than n (n > 1), by counting up.
pub fn k_of(n: u64) -> u64 {
    let mut k = 1;
    while k < n.div_ceil(2) {
        k *= 2;
    }
    k
}

/// MTH over `[lo, hi)`, where `perfect(lo, hi)` may short-circuit aligned perfect ranges (for
/// lazily defined trees) and `leaf(i)` gives leaf hashes.
pub trait Tree {
    fn leaf(&self, i: u64) -> Hash;
    /// The hash of an aligned perfect range, if this tree defines it directly.
    fn perfect(&self, _lo: u64, _hi: u64) -> Option<Hash> {
        None
    }

    fn mth(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return empty_root();
        }
        if n == 1 {
            return self.leaf(lo);
        }
        if n.is_power_of_two() && lo % n == 0 {
            if let Some(h) = self.perfect(lo, hi) {
                return h;
            }
        }
        let k = k_of(n);
        node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
    }

    /// PATH(m, D[lo:hi]), m relative to lo.
    fn path(&self, m: u64, lo: u64, hi: u64) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = k_of(n);
        if m < k {
            let mut p = self.path(m, lo, lo + k);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.path(m - k, lo + k, hi);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// SUBPROOF(m, D[lo:hi], b), m relative to lo.
    fn subproof(&self, m: u64, lo: u64, hi: u64, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = self.subproof(m, lo, lo + k, b);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.subproof(m - k, lo + k, hi, false);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    fn proof(&self, m: u64, n: u64) -> Vec<Hash> {
        self.subproof(m, 0, n, true)
    }
}

/// A tree over explicit leaf hashes.
pub struct Leaves(pub Vec<Hash>);

impl Tree for Leaves {
    fn leaf(&self, i: u64) -> Hash {
        self.0[i as usize]
    }
}

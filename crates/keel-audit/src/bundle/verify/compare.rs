//! Comparing a tree rebuilt leaf by leaf with the signed checkpoints as it reaches their sizes.

use crate::hash::Hash;
use crate::tree::Frontier;

/// Compares a growing tree with the checkpoints (valid ones, by size) as it reaches their sizes.
pub(super) struct Comparer<'a> {
    checkpoints: &'a [(u64, Hash)],
    next: usize,
    /// The largest checkpoint size whose root matched (0 if none).
    pub(super) verified_size: u64,
    /// The first checkpoint that did not match, and the last verified size before it.
    pub(super) mismatch: Option<(u64, u64)>,
    /// A checkpoint after that mismatch which matched.
    pub(super) matched_after: Option<u64>,
    /// Whether the last checkpoint compared matched.
    last_matched: bool,
}

impl<'a> Comparer<'a> {
    pub(super) fn new(checkpoints: &'a [(u64, Hash)]) -> Self {
        Self {
            checkpoints,
            next: 0,
            verified_size: 0,
            mismatch: None,
            matched_after: None,
            last_matched: false,
        }
    }

    /// Compares the checkpoints of the frontier's size with its root. Calling it again at the
    /// same size does nothing.
    #[inline]
    pub(super) fn reach(&mut self, frontier: &Frontier) {
        let size = frontier.size();
        while let Some(&(cp_size, root)) = self.checkpoints.get(self.next) {
            if cp_size != size {
                break;
            }
            self.last_matched = frontier.root() == root;
            if self.last_matched {
                self.verified_size = size;
                if self.mismatch.is_some() && self.matched_after.is_none() {
                    self.matched_after = Some(size);
                }
            } else if self.mismatch.is_none() {
                self.mismatch = Some((size, self.verified_size));
            }
            self.next += 1;
        }
    }

    /// The first checkpoint not reached (the tree stopped before its size), if any.
    pub(super) fn unreached(&self) -> Option<u64> {
        self.checkpoints.get(self.next).map(|&(size, _)| size)
    }

    /// Whether the tree reached and matched the last checkpoint (true when there is none).
    pub(super) fn verified_all(&self) -> bool {
        self.checkpoints.is_empty() || (self.unreached().is_none() && self.last_matched)
    }

    /// A checkpoint that did not match although a later one did (the log signed inconsistent
    /// trees), with that later one's size.
    pub(super) fn inconsistency(&self) -> Option<(u64, u64)> {
        let (size, _) = self.mismatch?;
        self.matched_after.map(|later| (size, later))
    }
}

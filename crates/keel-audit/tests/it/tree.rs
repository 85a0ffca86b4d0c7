//! The tree module against the reference: every (index, size) up to 70 exhaustively, tampered
//! proofs, the frontier, and proptests at sizes up to 2^40 (and 2^63) over lazily defined trees.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use keel_audit::Error;
use keel_audit::hash::{Hash, empty_root, leaf_hash, node_hash};
use keel_audit::tree::{self, Frontier, NodeId};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::reference::{Leaves, Tree};

const MAX: u64 = 70;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

/// Every perfect node of the tree of `leaves`, as a log stores them.
fn stored(leaves: &[Hash]) -> HashMap<NodeId, Hash> {
    let mut f = Frontier::empty();
    let mut done = Vec::new();
    for l in leaves {
        f.push(*l, &mut done);
    }
    done.into_iter().collect()
}

/// A node lookup that only answers nodes inside the tree of `size`, and records what it was asked.
struct Lookup<'a> {
    nodes: &'a HashMap<NodeId, Hash>,
    size: u64,
    asked: RefCell<BTreeSet<NodeId>>,
}

impl<'a> Lookup<'a> {
    fn new(nodes: &'a HashMap<NodeId, Hash>, size: u64) -> Self {
        Self {
            nodes,
            size,
            asked: RefCell::new(BTreeSet::new()),
        }
    }

    fn get(&self, id: NodeId) -> Option<Hash> {
        self.asked.borrow_mut().insert(id);
        let end = (id.index + 1) << id.level;
        if end > self.size {
            return None;
        }
        self.nodes.get(&id).copied()
    }

    fn take(&self) -> Vec<NodeId> {
        std::mem::take(&mut *self.asked.borrow_mut())
            .into_iter()
            .collect()
    }
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

/// Every bit for small proofs; a spread of bits for bigger ones, to keep the test quick.
fn bits_to_flip(size: u64) -> Vec<usize> {
    if size <= 16 {
        (0..256).collect()
    } else {
        (0..256).step_by(37).collect()
    }
}

#[test]
fn roots_match_the_reference() {
    let all = leaves(MAX);
    let nodes = stored(&all);
    let reference = Leaves(all.clone());
    let mut f = Frontier::empty();
    assert_eq!(f.root(), empty_root());
    assert_eq!(tree::root(0, |_| None).expect("empty"), empty_root());
    let mut done = Vec::new();
    for size in 1..=MAX {
        f.push(all[size as usize - 1], &mut done);
        let want = reference.mth(0, size);
        assert_eq!(f.root(), want, "frontier root of {size}");
        let lookup = Lookup::new(&nodes, size);
        assert_eq!(tree::root(size, |id| lookup.get(id)).expect("root"), want);
        let mut plan = tree::root_plan(size);
        plan.sort();
        assert_eq!(lookup.take(), plan);
        assert_eq!(tree::root_plan(size), Frontier::ids(size));
        let hashes: Vec<Hash> = Frontier::ids(size).iter().map(|id| nodes[id]).collect();
        assert_eq!(f.hashes(), hashes.as_slice());
        let rebuilt = Frontier::from_hashes(size, hashes).expect("frontier");
        assert_eq!(rebuilt, f);
    }
}

#[test]
fn push_completes_exactly_the_perfect_nodes() {
    let all = leaves(300);
    let reference = Leaves(all.clone());
    let mut f = Frontier::empty();
    for (n, leaf) in all.iter().enumerate() {
        let n = n as u64;
        let mut done = vec![(NodeId::new(99, 99), [0; 32])];
        f.push(*leaf, &mut done);
        assert_eq!(done.remove(0).0, NodeId::new(99, 99), "push must not clear");
        let want: Vec<NodeId> = (0..=n.trailing_ones())
            .map(|l| NodeId::new(l as u8, n >> l))
            .collect();
        let got: Vec<NodeId> = done.iter().map(|(id, _)| *id).collect();
        assert_eq!(got, want, "append #{n}");
        for (id, h) in done {
            let lo = id.index << id.level;
            assert_eq!(h, reference.mth(lo, lo + (1 << id.level)), "{id}");
        }
    }
}

#[test]
fn inclusion_proofs_match_the_reference_and_verify() {
    let all = leaves(MAX);
    let nodes = stored(&all);
    let reference = Leaves(all.clone());
    let roots: Vec<Hash> = (0..=MAX).map(|n| reference.mth(0, n)).collect();
    for size in 1..=MAX {
        let root = roots[size as usize];
        let lookup = Lookup::new(&nodes, size);
        for index in 0..size {
            let proof = tree::inclusion_proof(index, size, |id| lookup.get(id)).expect("proof");
            assert_eq!(
                proof,
                reference.path(index, 0, size),
                "PATH({index}, {size})"
            );
            assert_eq!(
                lookup.take(),
                tree::inclusion_plan(index, size).expect("plan"),
                "plan({index}, {size})"
            );
            let leaf = all[index as usize];
            tree::verify_inclusion(&leaf, index, size, &proof, &root).expect("verifies");

            for i in 0..proof.len() {
                for bit in bits_to_flip(size) {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(tree::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                }
            }
            for bit in bits_to_flip(size) {
                assert!(
                    tree::verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err()
                );
                assert!(
                    tree::verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err()
                );
            }
            for other in (0..size).filter(|&o| o != index) {
                assert!(
                    tree::verify_inclusion(&leaf, other, size, &proof, &root).is_err(),
                    "index {other} instead of {index} in {size}"
                );
                let other_leaf = all[other as usize];
                assert!(tree::verify_inclusion(&other_leaf, other, size, &proof, &root).is_err());
            }
            for other in (index + 1..=MAX).filter(|&o| o != size) {
                assert!(
                    tree::verify_inclusion(&leaf, index, other, &proof, &roots[other as usize])
                        .is_err(),
                    "size {other} instead of {size} for {index}"
                );
            }
            if let Some((_, shorter)) = proof.split_last() {
                assert!(tree::verify_inclusion(&leaf, index, size, shorter, &root).is_err());
                assert!(tree::verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(tree::verify_inclusion(&leaf, index, size, &longer, &root).is_err());
            let mut longer = vec![leaf];
            longer.extend_from_slice(&proof);
            assert!(tree::verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        }
        assert!(matches!(
            tree::verify_inclusion(&all[0], size, size, &[], &root),
            Err(Error::InvalidRange)
        ));
    }
}

#[test]
fn consistency_proofs_match_the_reference_and_verify() {
    let all = leaves(MAX);
    let nodes = stored(&all);
    let reference = Leaves(all.clone());
    let roots: Vec<Hash> = (0..=MAX).map(|n| reference.mth(0, n)).collect();
    for second in 1..=MAX {
        let root2 = roots[second as usize];
        let lookup = Lookup::new(&nodes, second);
        for first in 1..=second {
            let root1 = roots[first as usize];
            let proof = tree::consistency_proof(first, second, |id| lookup.get(id)).expect("proof");
            assert_eq!(
                proof,
                reference.proof(first, second),
                "PROOF({first}, {second})"
            );
            assert_eq!(
                lookup.take(),
                tree::consistency_plan(first, second).expect("plan"),
                "plan({first}, {second})"
            );
            tree::verify_consistency(first, second, &root1, &root2, &proof).expect("verifies");

            for i in 0..proof.len() {
                for bit in bits_to_flip(second) {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(
                        tree::verify_consistency(first, second, &root1, &root2, &bad).is_err(),
                        "flip {bit} of #{i} in PROOF({first}, {second})"
                    );
                }
            }
            for bit in bits_to_flip(second) {
                assert!(
                    tree::verify_consistency(first, second, &flip(&root1, bit), &root2, &proof)
                        .is_err()
                );
                assert!(
                    tree::verify_consistency(first, second, &root1, &flip(&root2, bit), &proof)
                        .is_err()
                );
            }
            for other in (1..=second).filter(|&o| o != first) {
                assert!(
                    tree::verify_consistency(other, second, &roots[other as usize], &root2, &proof)
                        .is_err(),
                    "first {other} instead of {first} to {second}"
                );
            }
            for other in (first..=MAX).filter(|&o| o != second) {
                assert!(
                    tree::verify_consistency(first, other, &root1, &roots[other as usize], &proof)
                        .is_err(),
                    "second {other} instead of {second} from {first}"
                );
            }
            if let Some((_, shorter)) = proof.split_last() {
                assert!(tree::verify_consistency(first, second, &root1, &root2, shorter).is_err());
                assert!(
                    tree::verify_consistency(first, second, &root1, &root2, &proof[1..]).is_err()
                );
            }
            let mut longer = proof.clone();
            longer.push(root2);
            assert!(tree::verify_consistency(first, second, &root1, &root2, &longer).is_err());
            let mut longer = vec![root1];
            longer.extend_from_slice(&proof);
            assert!(tree::verify_consistency(first, second, &root1, &root2, &longer).is_err());
        }
        assert!(matches!(
            tree::consistency_proof(0, second, |id| lookup.get(id)),
            Err(Error::InvalidRange)
        ));
        assert!(matches!(
            tree::verify_consistency(0, second, &empty_root(), &root2, &[]),
            Err(Error::InvalidRange)
        ));
        assert!(matches!(
            tree::verify_consistency(second + 1, second, &root2, &root2, &[]),
            Err(Error::InvalidRange)
        ));
    }
}

#[test]
fn missing_nodes_are_named() {
    let all = leaves(13);
    let nodes = stored(&all);
    for (index, size) in [(0u64, 13u64), (12, 13), (5, 13)] {
        for missing in tree::inclusion_plan(index, size).expect("plan") {
            let got = tree::inclusion_proof(index, size, |id| (id != missing).then(|| nodes[&id]));
            assert!(matches!(got, Err(Error::MissingNode(id)) if id == missing));
        }
    }
    for missing in tree::consistency_plan(5, 13).expect("plan") {
        let got = tree::consistency_proof(5, 13, |id| (id != missing).then(|| nodes[&id]));
        assert!(matches!(got, Err(Error::MissingNode(id)) if id == missing));
    }
}

/// A legitimate tree of any size, defined lazily: every leaf hash is `L` except the leaf at
/// `special`, so the perfect nodes not above `special` all hash alike per level and those above
/// it are computed along its path. Node lookups are O(1).
struct Sparse {
    special: u64,
    plain: Vec<Hash>,
    path: Vec<Hash>,
}

impl Sparse {
    fn new(special: u64) -> Self {
        let mut plain = vec![leaf_hash(b"plain")];
        let mut path = vec![leaf_hash(b"special")];
        for l in 0..64usize {
            let p = plain[l];
            plain.push(node_hash(&p, &p));
            let s = path[l];
            path.push(if (special >> l) & 1 == 0 {
                node_hash(&s, &p)
            } else {
                node_hash(&p, &s)
            });
        }
        Self {
            special,
            plain,
            path,
        }
    }

    fn node(&self, id: NodeId) -> Hash {
        let l = id.level as usize;
        if id.level < 64 && id.index == self.special >> id.level {
            self.path[l]
        } else {
            self.plain[l]
        }
    }
}

impl Tree for Sparse {
    fn leaf(&self, i: u64) -> Hash {
        self.node(NodeId::new(0, i))
    }

    fn perfect(&self, lo: u64, hi: u64) -> Option<Hash> {
        let level = (hi - lo).trailing_zeros() as u8;
        Some(self.node(NodeId::new(level, lo >> level)))
    }
}

/// A tree whose perfect nodes are arbitrary (the hash of their id): not a Merkle tree, but it
/// makes every node distinct, so proofs built from the wrong node would show.
struct Fake;

impl Fake {
    fn node(id: NodeId) -> Hash {
        let mut h = Sha256::new();
        h.update([id.level]);
        h.update(id.index.to_be_bytes());
        h.finalize().into()
    }
}

impl Tree for Fake {
    fn leaf(&self, i: u64) -> Hash {
        Fake::node(NodeId::new(0, i))
    }

    fn perfect(&self, lo: u64, hi: u64) -> Option<Hash> {
        let level = (hi - lo).trailing_zeros() as u8;
        Some(Fake::node(NodeId::new(level, lo >> level)))
    }
}

fn check_at_scale(size: u64, index: u64, first: u64) {
    // Planning and proof structure, against the reference, with all nodes distinct.
    let asked = RefCell::new(BTreeSet::new());
    let fake = |id: NodeId| {
        asked.borrow_mut().insert(id);
        Some(Fake::node(id))
    };
    let proof = tree::inclusion_proof(index, size, fake).expect("proof");
    assert_eq!(proof, Fake.path(index, 0, size));
    let plan = tree::inclusion_plan(index, size).expect("plan");
    assert_eq!(plan, asked.take().into_iter().collect::<Vec<_>>());
    assert!(plan.len() <= 128);
    for id in &plan {
        assert!(
            ((id.index as u128 + 1) << id.level) <= size as u128,
            "{id} outside {size}"
        );
    }
    let proof = tree::consistency_proof(first, size, fake).expect("proof");
    assert_eq!(proof, Fake.proof(first, size));
    let plan = tree::consistency_plan(first, size).expect("plan");
    assert_eq!(plan, asked.take().into_iter().collect::<Vec<_>>());
    assert!(plan.len() <= 128);
    assert_eq!(tree::root(size, fake).expect("root"), Fake.mth(0, size));

    // Verification, over a legitimate tree.
    let sparse = Sparse::new(index);
    let node = |id: NodeId| Some(sparse.node(id));
    let root = tree::root(size, node).expect("root");
    assert_eq!(root, sparse.mth(0, size));
    let leaf = sparse.leaf(index);
    let proof = tree::inclusion_proof(index, size, node).expect("proof");
    tree::verify_inclusion(&leaf, index, size, &proof, &root).expect("verifies");
    for other in [
        index ^ 1,
        index / 2,
        size - 1 - index,
        index.wrapping_add(1) % size,
    ] {
        if other != index {
            assert!(tree::verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
    }
    let root1 = tree::root(first, node).expect("root");
    let proof = tree::consistency_proof(first, size, node).expect("proof");
    tree::verify_consistency(first, size, &root1, &root, &proof).expect("verifies");
    if let Some(p) = proof.first() {
        let mut bad = proof.clone();
        bad[0] = flip(p, 3);
        assert!(tree::verify_consistency(first, size, &root1, &root, &bad).is_err());
    }

    // The frontier agrees, and an append completes the nodes the lazy tree has.
    let hashes = Frontier::ids(size)
        .into_iter()
        .map(|id| sparse.node(id))
        .collect();
    let mut f = Frontier::from_hashes(size, hashes).expect("frontier");
    assert_eq!(f.root(), root);
    if size < u64::MAX {
        let mut done = Vec::new();
        f.push(sparse.plain[0], &mut done);
        for (id, h) in done {
            assert_eq!(h, sparse.node(id), "{id}");
        }
        assert_eq!(f.root(), sparse.mth(0, size + 1));
    }
}

#[test]
fn extreme_sizes() {
    for size in [
        1u64 << 63,
        (1 << 63) + 1,
        u64::MAX,
        u64::MAX - 1,
        (1 << 40) + 12345,
    ] {
        for index in [0, size / 3, size - 2, size - 1] {
            check_at_scale(size, index, (index + 1).min(size));
            check_at_scale(size, index, size / 2 + 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn large_random_trees(size in 1u64..=(1 << 40), a in any::<u64>(), b in any::<u64>()) {
        let index = a % size;
        let first = 1 + b % size;
        check_at_scale(size, index, first);
    }

    #[test]
    fn small_random_trees(size in 1u64..=5000, a in any::<u64>(), b in any::<u64>()) {
        check_at_scale(size, a % size, 1 + b % size);
    }
}

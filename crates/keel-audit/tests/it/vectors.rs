//! Known-answer vectors for the Merkle tree: Certificate Transparency's eight standard leaves,
//! with the roots, node hashes and proofs published in transparency-dev/merkle (testonly
//! constants, the proofgen vectors and testdata/*/happy-path.json).

use std::collections::HashMap;

use keel_audit::hash::{Hash, empty_root, leaf_hash};
use keel_audit::tree::{self, Frontier, NodeId};

use crate::{hash, hex, unhex};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of 1..=8 of those leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every perfect node of the tree of 8, by level then index.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf index, tree size, proof): the proofgen inclusion vectors (their 1-based indexes made
/// 0-based).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (first size, second size, proof): the proofgen consistency vectors.
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn leaf_hashes() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(&unhex(l))).collect()
}

fn stored() -> HashMap<NodeId, Hash> {
    let mut f = Frontier::empty();
    let mut done = Vec::new();
    for l in leaf_hashes() {
        f.push(l, &mut done);
    }
    done.into_iter().collect()
}

#[test]
fn roots_of_the_ct_leaves() {
    assert_eq!(
        hex(&empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let mut f = Frontier::empty();
    let mut done = Vec::new();
    for (n, leaf) in leaf_hashes().into_iter().enumerate() {
        f.push(leaf, &mut done);
        assert_eq!(hex(&f.root()), ROOTS[n], "root of {}", n + 1);
    }
    let nodes: HashMap<NodeId, Hash> = done.into_iter().collect();
    assert_eq!(nodes.len(), 15);
    for (level, hashes) in NODES.iter().enumerate() {
        for (index, want) in hashes.iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            assert_eq!(hex(&nodes[&id]), *want, "{id}");
        }
    }
    for size in 1..=8u64 {
        let root = tree::root(size, |id| nodes.get(&id).copied()).expect("root");
        assert_eq!(hex(&root), ROOTS[size as usize - 1]);
    }
}

#[test]
fn published_inclusion_proofs() {
    let nodes = stored();
    let leaves = leaf_hashes();
    for (index, size, want) in INCLUSION {
        let proof =
            tree::inclusion_proof(index, size, |id| nodes.get(&id).copied()).expect("proof");
        let got: Vec<String> = proof.iter().map(|h| hex(h)).collect();
        assert_eq!(got, want, "PATH({index}, {size})");
        let root = hash(ROOTS[size as usize - 1]);
        tree::verify_inclusion(&leaves[index as usize], index, size, &proof, &root)
            .expect("verifies");
    }
}

#[test]
fn published_consistency_proofs() {
    let nodes = stored();
    for (first, second, want) in CONSISTENCY {
        let proof =
            tree::consistency_proof(first, second, |id| nodes.get(&id).copied()).expect("proof");
        let got: Vec<String> = proof.iter().map(|h| hex(h)).collect();
        assert_eq!(got, want, "PROOF({first}, {second})");
        let (r1, r2) = (
            hash(ROOTS[first as usize - 1]),
            hash(ROOTS[second as usize - 1]),
        );
        tree::verify_consistency(first, second, &r1, &r2, &proof).expect("verifies");
    }
}

/// transparency-dev/merkle testdata/inclusion/1/happy-path.json and
/// testdata/consistency/1/happy-path.json (base64).
#[test]
fn testdata_happy_paths() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let b = |s: &str| -> Hash { STANDARD.decode(s).expect("base64").try_into().expect("32") };
    let root = b("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=");
    let leaf = b("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=");
    let proof = [
        b("lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c="),
        b("Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4="),
        b("a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="),
    ];
    tree::verify_inclusion(&leaf, 0, 8, &proof, &root).expect("inclusion");
    tree::verify_consistency(1, 8, &leaf, &root, &proof).expect("consistency");
    assert!(tree::verify_inclusion(&leaf, 1, 8, &proof, &root).is_err());
    assert!(tree::verify_consistency(2, 8, &leaf, &root, &proof).is_err());
}

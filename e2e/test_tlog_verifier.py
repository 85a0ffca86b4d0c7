"""Tests of the independent audit-log verifier (tlog_verifier.py) against published vectors.

Why this exists: the verifier is only evidence that Keel's audit log uses standard formats if the
verifier itself is right. So it is checked here against vectors published with the standards and
their reference implementations, never against Keel:

* Merkle trees (RFC 9162 §2.1 / RFC 6962): the transparency-dev/merkle test data (leaves "",
  "00", "10", ..., roots of sizes 0..8, node hashes, inclusion and consistency proofs), from
  github.com/transparency-dev/merkle testonly/constants.go, testonly/reference_test.go and
  proof/verify_test.go; plus exhaustive generate-and-verify for every (index, size) up to 40.
* Signed notes: the golang.org/x/mod/sumdb/note example (Peter Neumann's quote) and the test
  cases of sumdb/note/note_test.go; the C2SP tlog-checkpoint example.
* RFC 8785: the §3.2.2 example (with its §3.2.4 UTF-8 bytes), the §3.2.3 sorting example and the
  Appendix B number samples.
* Bundles: written here (with a fresh Ed25519 key from `cryptography`), then tampered with.

None of these tests needs a server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tlog_verifier as tv
from tlog_verifier import VerificationError


def h(hexstr: str) -> bytes:
    return bytes.fromhex(hexstr)


# --- Merkle tree vectors (transparency-dev/merkle) --------------------------------------------

LEAVES = [h(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]

# testonly/constants.go RootHashes(): index = tree size.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# testonly/constants.go NodeHashes(): [level][index within the level].
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# (leaf index, tree size, proof): testonly/reference_test.go TestRefInclusionProof, which has the
# 0-based indices of proof/verify_test.go inclusionProofs (those are 1-based) and a few more.
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")]),
    (1, 2, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# (size1, size2, proof): proof/verify_test.go consistencyProofs (also in reference_test.go).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")  # verify_test.go sha256SomeHash
EMPTY_TREE_HASH = ROOTS[0]


def rejects(fn, *args) -> bool:
    try:
        fn(*args)
    except VerificationError:
        return True
    return False


def flip(data: bytes, bit: int = 3) -> bytes:
    return bytes([data[0] ^ (1 << bit)]) + data[1:]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_of_the_vector_leaves(size):
    assert tv.merkle_root(LEAVES[:size]) == ROOTS[size]
    assert tv.merkle_root_of_hashes([tv.leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size]


def test_leaf_and_node_hashes_of_the_vector_leaves():
    level = [tv.leaf_hash(x) for x in LEAVES]
    for expected in NODE_HASHES:
        assert level == expected
        level = [tv.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    assert level == []


def test_iterative_root_equals_the_recursive_definition():
    leaves = [f"entry {i}".encode() for i in range(1100)]
    hashes = [tv.leaf_hash(x) for x in leaves]
    for n in list(range(0, 70)) + [127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024, 1025, 1100]:
        assert tv.merkle_root_of_hashes(hashes[:n]) == tv.merkle_root(leaves[:n]), n


def corrupt_inclusion(index, size, proof, root, leaf):
    """proof/verify_test.go corruptInclusionProof: every probe must be rejected."""
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_TREE_HASH, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, proof + [b""]),
        (index, size, root, leaf, proof + [root]),
        (index, size, root, leaf, [b""] + proof),
        (index, size, root, leaf, [root] + proof),
    ]
    for i in range(len(proof)):
        probes.append((index, size, root, leaf, proof[:i] + [flip(proof[i])] + proof[i + 1 :]))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH] + proof[1:]))
    return probes


@pytest.mark.parametrize("index,size,proof", INCLUSION_VECTORS)
def test_inclusion_vectors(index, size, proof):
    hashes = [tv.leaf_hash(x) for x in LEAVES]
    assert tv.inclusion_proof(hashes, index, size) == proof
    tv.verify_inclusion(hashes[index], index, size, proof, ROOTS[size])
    for i, s, root, leaf, p in corrupt_inclusion(index, size, proof, ROOTS[size], hashes[index]):
        assert rejects(tv.verify_inclusion, leaf, i, s, p, root), (i, s, root.hex(), leaf, p)


def test_inclusion_single_entry_and_degenerate_trees():
    """verify_test.go TestVerifyInclusionSingleEntry and TestVerifyInclusion probes."""
    leaf = tv.leaf_hash(b"data")
    tv.verify_inclusion(leaf, 0, 1, [], leaf)
    assert rejects(tv.verify_inclusion, b"", 0, 1, [], leaf)
    assert rejects(tv.verify_inclusion, leaf, 0, 1, [], b"")
    assert rejects(tv.verify_inclusion, b"", 0, 1, [], b"")
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert rejects(tv.verify_inclusion, SOME_HASH, index, size, [], b"")
        assert rejects(tv.verify_inclusion, b"", index, size, [], EMPTY_TREE_HASH)
        assert rejects(tv.verify_inclusion, SOME_HASH, index, size, [], EMPTY_TREE_HASH)


def corrupt_consistency(size1, size2, root1, root2, proof):
    """proof/verify_test.go corruptConsistencyProof: every probe must be rejected."""
    probes = [
        (size1 - 1, size2, root1, root2, proof),
        (size1 + 1, size2, root1, root2, proof),
        (size1 ^ 2, size2, root1, root2, proof),
        (size1, size2 * 2, root1, root2, proof),
        (size1, size2 // 2, root1, root2, proof),
        (size1, size2, b"WrongRoot", root2, proof),
        (size1, size2, root1, b"WrongRoot", proof),
        (size1, size2, root2, root1, proof),
        (size1, size2, root1, root2, []),
        (size1, size2, root1, root2, proof + [b""]),
        (size1, size2, root1, root2, proof + [root1]),
        (size1, size2, root1, root2, proof + [root2]),
        (size1, size2, root1, root2, [b""] + proof),
        (size1, size2, root1, root2, [root1] + proof),
        (size1, size2, root1, root2, [root2] + proof),
        (size1, size2, root1, root2, [proof[0]] + proof),
        (size1, size2, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        probes.append((size1, size2, root1, root2, proof[:i] + [flip(proof[i], 4)] + proof[i + 1 :]))
    return probes


@pytest.mark.parametrize("size1,size2,proof", CONSISTENCY_VECTORS)
def test_consistency_vectors(size1, size2, proof):
    hashes = [tv.leaf_hash(x) for x in LEAVES]
    assert tv.consistency_proof(hashes, size1, size2) == proof
    tv.verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)
    if proof:
        for s1, s2, r1, r2, p in corrupt_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof):
            assert rejects(tv.verify_consistency, s1, s2, r1, r2, p), (s1, s2, r1, r2, p)


def test_consistency_trivial_cases():
    """verify_test.go TestVerifyConsistency, with real 32-byte roots: an empty tree's root is SHA-256("")."""
    r1, r2 = ROOTS[1], ROOTS[2]
    tv.verify_consistency(0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [])
    tv.verify_consistency(0, 1, EMPTY_TREE_HASH, r1, [])
    tv.verify_consistency(1, 1, r2, r2, [])
    for case in [
        (0, 0, r1, r2, []),  # different roots for one size
        (1, 1, r1, r2, []),
        (0, 1, r1, r2, []),  # not the empty tree's root
        (1, 0, r1, r2, []),  # time travel
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),  # empty proof
        (0, 0, EMPTY_TREE_HASH, r2, []),
        (1, 1, EMPTY_TREE_HASH, r2, []),
        (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH]),  # roots match but the proof is not empty
        (0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH]),
        (1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH]),
    ]:
        assert rejects(tv.verify_consistency, *case), case


# --- exhaustive generate + verify up to 40 leaves ---------------------------------------------

MAX = 40
EX_LEAVES = [f"leaf {i}".encode() for i in range(MAX)]
EX_HASHES = [tv.leaf_hash(x) for x in EX_LEAVES]
EX_ROOTS = [tv.merkle_root(EX_LEAVES[:n]) for n in range(MAX + 1)]


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_every_inclusion_proof_verifies_and_no_tampered_one_does(size):
    root = EX_ROOTS[size]
    for index in range(size):
        proof = tv.inclusion_proof(EX_HASHES, index, size)
        assert len(proof) == len(tv.inclusion_proof(EX_HASHES[:size], index, size))
        tv.verify_inclusion(EX_HASHES[index], index, size, proof, root)
        for other in range(size):
            if other != index:
                assert rejects(tv.verify_inclusion, EX_HASHES[index], other, size, proof, root), (index, other)
                assert rejects(tv.verify_inclusion, EX_HASHES[other], index, size, proof, root), (index, other)
        for i in range(len(proof)):
            bad = proof[:i] + [flip(proof[i], i % 8)] + proof[i + 1 :]
            assert rejects(tv.verify_inclusion, EX_HASHES[index], index, size, bad, root)
        if proof:
            assert rejects(tv.verify_inclusion, EX_HASHES[index], index, size, proof[:-1], root)
        assert rejects(tv.verify_inclusion, EX_HASHES[index], index, size, proof + [SOME_HASH], root)
        assert rejects(tv.verify_inclusion, EX_HASHES[index], index, size, proof, EX_ROOTS[size - 1])
        assert rejects(tv.verify_inclusion, EX_HASHES[index], index, size, proof, flip(root))


@pytest.mark.parametrize("size2", range(1, MAX + 1))
def test_every_consistency_proof_verifies_and_no_tampered_one_does(size2):
    root2 = EX_ROOTS[size2]
    for size1 in range(0, size2 + 1):
        root1 = EX_ROOTS[size1]
        proof = tv.consistency_proof(EX_HASHES, size1, size2)
        tv.verify_consistency(size1, size2, root1, root2, proof)
        if size1 in (0, size2):
            assert proof == []
            continue
        for other in range(1, size2 + 1):
            if EX_ROOTS[other] != root1:
                assert rejects(tv.verify_consistency, size1, size2, EX_ROOTS[other], root2, proof)
            if other != size1:
                assert rejects(tv.verify_consistency, other, size2, root1, root2, proof), (size1, other, size2)
        for i in range(len(proof)):
            bad = proof[:i] + [flip(proof[i], i % 8)] + proof[i + 1 :]
            assert rejects(tv.verify_consistency, size1, size2, root1, root2, bad)
        assert rejects(tv.verify_consistency, size1, size2, root1, root2, proof[:-1])
        assert rejects(tv.verify_consistency, size1, size2, root1, root2, proof + [SOME_HASH])
        assert rejects(tv.verify_consistency, size1, size2, root1, EX_ROOTS[size2 - 1], proof)
        assert rejects(tv.verify_consistency, size1, size2, root2, root1, proof)


def test_memoized_proofs_equal_plain_ones():
    hashes = [tv.leaf_hash(f"big {i}".encode()) for i in range(2100)]
    cache: dict = {}
    for size in (257, 1024, 1025, 2100):
        root = tv.merkle_root_of_hashes(hashes[:size])
        for index in sorted({0, 1, 255, 256, size // 3, size - 2, size - 1}):
            proof = tv.inclusion_proof(hashes, index, size, cache)
            assert proof == tv.inclusion_proof(hashes, index, size)
            tv.verify_inclusion(hashes[index], index, size, proof, root)
        for first in sorted({1, 255, 256, size // 3, size - 1, size}):
            proof = tv.consistency_proof(hashes, first, size, cache)
            assert proof == tv.consistency_proof(hashes, first, size)
            tv.verify_consistency(first, size, tv.merkle_root_of_hashes(hashes[:first]), root, proof)


# --- RFC 8785 ---------------------------------------------------------------------------------

# §3.2.2 example input, §3.2.3 its canonical form, §3.2.4 that form's UTF-8 bytes.
RFC8785_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC8785_OUTPUT = r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"""
RFC8785_UTF8 = (
    "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
    " 75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
    " 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
    " 65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
    " 5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
    " 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
)

# §3.2.3 sorting example: members in the order their names' UTF-16 code units sort.
RFC8785_SORTING_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC8785_SORTED_VALUES = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]

# Appendix B: IEEE-754 bit patterns and their serialization; None = must be rejected.
RFC8785_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("7fffffffffffffff", None),
    ("7ff0000000000000", None),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def test_rfc8785_example():
    out = tv.canonical_json(json.loads(RFC8785_INPUT))
    assert out == RFC8785_OUTPUT.encode("utf-8")
    assert out == bytes.fromhex(RFC8785_UTF8)


def test_rfc8785_sorting_example():
    out = tv.canonical_json(json.loads(RFC8785_SORTING_INPUT))
    assert list(json.loads(out).values()) == RFC8785_SORTED_VALUES
    assert out.startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control",')


@pytest.mark.parametrize("bits,expected", RFC8785_NUMBERS)
def test_rfc8785_number_samples(bits, expected):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    if expected is None:
        with pytest.raises(ValueError):
            tv.canonical_json(value)
    else:
        assert tv.canonical_json(value) == expected.encode()
        assert tv.canonical_json([value, {"n": value}]) == f'[{expected},{{"n":{expected}}}]'.encode()


def test_rfc8785_strings():
    every_control = "".join(chr(c) for c in range(0x20))
    assert tv.canonical_json(every_control) == (
        b'"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
        b'\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"'
    )
    assert tv.canonical_json('"\\/\x7f\u2028é😀') == '"\\"\\\\/\x7f\u2028é😀"'.encode("utf-8")
    assert tv.canonical_json(json.loads('"\\ud83d\\ude00"')) == "\"😀\"".encode("utf-8")
    for lone in ('"\\ud800"', '"\\udfff"', '"a\\ude00b"', '{"\\ud800": 1}'):
        with pytest.raises(ValueError):
            tv.canonical_json(json.loads(lone))


def test_rfc8785_structure_and_other_values():
    nested = {"b": [{"z": 1, "a": 2}], "a": {"d": True, "c": None}}
    assert tv.canonical_json(nested) == b'{"a":{"c":null,"d":true},"b":[{"a":2,"z":1}]}'
    assert tv.canonical_json([]) == b"[]" and tv.canonical_json({}) == b"{}"
    numbers = [1, -1, 0, -0.0, 1.0, 1.5, 100, 1e20, 1e21, 1e-6, 1e-7]
    assert tv.canonical_json(numbers) == b"[1,-1,0,0,1,1.5,100,100000000000000000000,1e+21,0.000001,1e-7]"
    assert tv.canonical_json(2**53) == b"9007199254740992"
    assert tv.canonical_json(2**60) == b"1152921504606847000"  # JSON numbers are doubles
    assert tv.canonical_json({"\uffff": 1, "😀": 2}) == '{"😀":2,"\uffff":1}'.encode()  # UTF-16 order, not code points
    for bad in (float("nan"), float("inf"), float("-inf"), 10**400):
        with pytest.raises(ValueError):
            tv.canonical_json(bad)
    for bad in ({1: "x"}, b"bytes", {1, 2}, object()):
        with pytest.raises(TypeError):
            tv.canonical_json(bad)


# --- signed notes (golang.org/x/mod/sumdb/note) -----------------------------------------------

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
NEUMANN_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_sumdb_note_example():
    name, kid, public_key = tv.parse_vkey(PETER_VKEY)
    assert (name, kid) == ("PeterNeumann", h("c74f20a3"))
    assert tv.key_id(name, public_key) == kid
    assert tv.open_note(NEUMANN_TEXT + "\n" + PETER_SIG, PETER_VKEY) == NEUMANN_TEXT
    # The doubly signed note of the package documentation opens with either key.
    both = NEUMANN_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert tv.open_note(both, PETER_VKEY) == NEUMANN_TEXT
    assert tv.open_note(both, ENOCH_VKEY) == NEUMANN_TEXT
    # Duplicated signatures of a known key, and unknown ones, are fine (note_test.go TestOpen).
    assert tv.open_note(NEUMANN_TEXT + "\n" + PETER_SIG * 2 + ENOCH_SIG * 2, PETER_VKEY) == NEUMANN_TEXT


def test_test_signer_reproduces_the_published_signature():
    """Ed25519 is deterministic: signing as below (what the bundle writer does) with the published
    private key gives the published signature line, so the writer signs as Go's note.Sign does."""
    key = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert key[0] == 1
    private = Ed25519PrivateKey.from_private_bytes(key[1:])
    assert vkey_of(private, "PeterNeumann") == PETER_VKEY
    assert sign_note(NEUMANN_TEXT, private, "PeterNeumann") == NEUMANN_TEXT + "\n" + PETER_SIG


def test_notes_without_a_good_signature_are_rejected():
    with pytest.raises(VerificationError, match="not signed by"):
        tv.open_note(NEUMANN_TEXT + "\n" + ENOCH_SIG, PETER_VKEY)
    with pytest.raises(VerificationError, match="invalid signature"):
        tv.open_note(NEUMANN_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], PETER_VKEY)
    with pytest.raises(VerificationError, match="invalid signature"):
        tv.open_note(NEUMANN_TEXT.replace("problem", "solution", 1) + "\n" + PETER_SIG, PETER_VKEY)
    # A signature under another name or another key ID is some other key's: ignored.
    misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    wrong_id = PETER_SIG.replace("x08g", "xxxx")
    for sig in (misnamed, wrong_id):
        with pytest.raises(VerificationError, match="not signed by"):
            tv.open_note(NEUMANN_TEXT + "\n" + sig, PETER_VKEY)
        assert tv.open_note(NEUMANN_TEXT + "\n" + sig + PETER_SIG, PETER_VKEY) == NEUMANN_TEXT
    with pytest.raises(VerificationError, match="too many"):
        tv.open_note(NEUMANN_TEXT + "\n" + PETER_SIG * 101, PETER_VKEY)


@pytest.mark.parametrize(
    "note",
    [  # note_test.go TestOpen badMsgs ("\xff", invalid UTF-8, is a lone surrogate in a Python str)
        NEUMANN_TEXT,
        NEUMANN_TEXT + "\n",
        NEUMANN_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + NEUMANN_TEXT + "\n" + PETER_SIG,
        "\udcff" + NEUMANN_TEXT + "\n" + PETER_SIG,
        NEUMANN_TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        NEUMANN_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        NEUMANN_TEXT + "\n" + PETER_SIG.replace("—", "-"),
        NEUMANN_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),
    ],
)
def test_malformed_notes_are_rejected(note):
    with pytest.raises(VerificationError):
        tv.open_note(note, PETER_VKEY)


def test_mangled_verifier_keys_are_rejected():
    """note_test.go TestNewVerifier: every proper substring and every one-byte change fails."""
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                assert rejects(tv.parse_vkey, PETER_VKEY[i:j]), PETER_VKEY[i:j]
    for i in range(len(PETER_VKEY)):
        assert rejects(tv.parse_vkey, PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :])
    assert rejects(tv.parse_vkey, "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")  # wrong length
    assert rejects(tv.parse_vkey, "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")  # unknown algorithm


# --- checkpoints (C2SP tlog-checkpoint) -------------------------------------------------------

C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def test_c2sp_checkpoint_example():
    text = C2SP_CHECKPOINT.split("\n\n")[0] + "\n"
    cp = tv.parse_checkpoint(text)
    assert cp == {
        "origin": "example.com/behind-the-sofa",
        "size": 20852163,
        "root": base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
        "extensions": [],
    }
    assert tv.parse_checkpoint(text + "ext one\next two\n")["extensions"] == ["ext one", "ext two"]
    with pytest.raises(VerificationError, match="not signed by"):  # the spec gives no key for it
        tv.open_note(C2SP_CHECKPOINT, PETER_VKEY)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no final newline
        "origin\n5\n",  # no root
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # empty origin
        "origin\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "origin\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n５\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # not an ASCII digit
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # bad base64
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",  # 30 bytes
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nextension\n",  # empty extension line
    ],
)
def test_malformed_checkpoints_are_rejected(text):
    with pytest.raises(VerificationError):
        tv.parse_checkpoint(text)


# --- bundles ------------------------------------------------------------------------------------

ORIGIN = "keel.example/audit-test"


def vkey_of(private: Ed25519PrivateKey, name: str) -> str:
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    key64 = base64.b64encode(b"\x01" + public).decode()
    return f"{name}+{kid.hex()}+{key64}"


def sign_note(text: str, private: Ed25519PrivateKey, name: str) -> str:
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    sig = base64.b64encode(kid + private.sign(text.encode())).decode()
    return f"{text}\n— {name} {sig}\n"


def checkpoint_note(entries: list[bytes], size: int, private: Ed25519PrivateKey, name=ORIGIN, origin=ORIGIN) -> str:
    root = base64.b64encode(tv.merkle_root(entries[:size])).decode()
    return sign_note(f"{origin}\n{size}\n{root}\n", private, name)


def make_entries(n: int) -> list[bytes]:
    """Canonical JSON lines, written by Python's json (which agrees with RFC 8785 for these)."""
    entries = []
    for i in range(n):
        event = {"seq": i, "actor": f"user-{i % 7}@example.com", "action": ["create", "update", "delete"][i % 3],
                 "at": 1700000000000 + 17 * i, "note": f"é\t\"{i}\" 😀", "tags": {"b": i % 2 == 0, "a": None}}
        entries.append(json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    return entries


def write_bundle(directory, entries: list[bytes], sizes, private: Ed25519PrivateKey, name: str = ORIGIN):
    """A bundle as verify_bundle reads it, with a timestamps/ directory it must ignore."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in entries))
    (directory / "checkpoints").mkdir()
    for size in sizes:
        note = checkpoint_note(entries, size, private, name)
        (directory / "checkpoints" / f"{size:020d}").write_text(note, encoding="utf-8")
    (directory / "key.vkey").write_text(vkey_of(private, name) + "\n", encoding="utf-8")
    (directory / "timestamps").mkdir()
    (directory / "timestamps" / "00000000000000000001.tsr").write_bytes(b"\x00not checked here")
    return directory


N = 150
SIZES = [1, 2, 7, 8, 33, 40, 64, 100, 150]


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def entries():
    made = make_entries(N)
    assert all(tv.canonical_json(json.loads(e)) == e for e in made)
    return made


@pytest.fixture
def bundle(tmp_path, entries, key):
    return write_bundle(tmp_path / "bundle", entries, SIZES, key)


def read_lines(bundle) -> list[bytes]:
    return (bundle / "entries.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(bundle, lines: list[bytes]) -> None:
    (bundle / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def rejected_at(bundle) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        tv.verify_bundle(bundle)
    return info.value


def test_good_bundle_verifies(bundle):
    assert tv.verify_bundle(bundle) == {"entries": N, "checkpoints": len(SIZES), "verified_size": N}
    assert tv.verify_bundle(str(bundle))["verified_size"] == N


def test_empty_and_size_zero_bundles_verify(tmp_path, key):
    empty = {"entries": 0, "checkpoints": 0, "verified_size": 0}
    assert tv.verify_bundle(write_bundle(tmp_path / "a", [], [], key)) == empty
    assert tv.verify_bundle(write_bundle(tmp_path / "b", [], [0], key)) == {**empty, "checkpoints": 1}
    entries = make_entries(5)
    assert tv.verify_bundle(write_bundle(tmp_path / "c", entries, [0, 5], key))["verified_size"] == 5


def test_bigger_bundle_verifies(tmp_path, key):
    entries = make_entries(3000)
    sizes = [0, 1, 2, 3, 255, 256, 257, 1000, 1024, 2047, 2999, 3000]
    assert tv.verify_bundle(write_bundle(tmp_path / "big", entries, sizes, key)) == {
        "entries": 3000, "checkpoints": len(sizes), "verified_size": 3000,
    }


def test_cosignatures_and_extension_lines_are_accepted(bundle, entries, key):
    witness = Ed25519PrivateKey.generate()
    text = f"{ORIGIN}\n64\n{base64.b64encode(tv.merkle_root(entries[:64])).decode()}\nextension line\n"
    note = sign_note(text, key, ORIGIN)
    note += sign_note(text, witness, "witness.example/w1").split("\n\n")[1]
    (bundle / "checkpoints" / f"{64:020d}").write_text(note, encoding="utf-8")
    assert tv.verify_bundle(bundle)["verified_size"] == N


# The index a tampered bundle is rejected at: the tampered entry when its own line is bad; when
# only a root shows it, the first entry after the last checkpoint still good (40 for entry 50).


def test_byte_flip_that_breaks_the_json(bundle):
    lines = read_lines(bundle)
    lines[50] = bytes([lines[50][0] ^ 0x01]) + lines[50][1:]
    write_lines(bundle, lines)
    error = rejected_at(bundle)
    assert error.index == 50 and "JSON" in error.message


def test_byte_flip_that_keeps_valid_canonical_json(bundle):
    lines = read_lines(bundle)
    at = lines[50].index(b"user-")
    lines[50] = lines[50][:at] + bytes([lines[50][at] ^ 0x03]) + lines[50][at + 1 :]  # "user-" -> "vser-"
    assert tv.canonical_json(json.loads(lines[50])) == lines[50]
    write_lines(bundle, lines)
    error = rejected_at(bundle)
    assert error.index == 40 and "tree size 64" in error.message


@pytest.mark.parametrize("index,expected", [(0, 0), (1, 1), (7, 7), (8, 8), (99, 64), (149, 100)])
def test_byte_flip_index_is_the_last_good_checkpoint(bundle, index, expected):
    lines = read_lines(bundle)
    lines[index] = lines[index].replace(b"user-", b"vser-")
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == expected


def test_noncanonical_line(bundle):
    lines = read_lines(bundle)
    lines[50] = lines[50].replace(b",", b", ", 1)
    write_lines(bundle, lines)
    error = rejected_at(bundle)
    assert error.index == 50 and "canonical" in error.message


def test_deleted_line(bundle):
    lines = read_lines(bundle)
    del lines[50]
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == 40


def test_swapped_lines(bundle):
    lines = read_lines(bundle)
    lines[50], lines[51] = lines[51], lines[50]
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == 40


def test_inserted_line(bundle, entries):
    lines = read_lines(bundle)
    lines.insert(50, entries[3])
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == 40


def test_appended_unsigned_entries(bundle):
    lines = read_lines(bundle)
    write_lines(bundle, lines + make_entries(N + 3)[N:])
    error = rejected_at(bundle)
    assert error.index == N and error.message == f"unsigned entries from index {N}"


def test_truncated_log(bundle):
    write_lines(bundle, read_lines(bundle)[:120])
    error = rejected_at(bundle)
    assert error.index == 120 and "tree size 150" in error.message


def test_missing_final_newline(bundle):
    path = bundle / "entries.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    assert rejected_at(bundle).index == N - 1


def test_checkpoint_signed_by_another_key(bundle, entries):
    other = Ed25519PrivateKey.generate()
    (bundle / "checkpoints" / f"{64:020d}").write_text(checkpoint_note(entries, 64, other), encoding="utf-8")
    error = rejected_at(bundle)
    assert error.index == 40 and "not signed by" in error.message


def test_checkpoint_with_a_bad_signature(bundle):
    path = bundle / "checkpoints" / f"{64:020d}"
    note = path.read_text(encoding="utf-8")
    path.write_text(note.replace("\n64\n", "\n65\n"), encoding="utf-8")
    error = rejected_at(bundle)
    assert error.index == 40 and "invalid signature" in error.message


def test_checkpoint_with_another_origin(bundle, entries, key):
    path = bundle / "checkpoints" / f"{64:020d}"
    path.write_text(checkpoint_note(entries, 64, key, origin="keel.example/other"), encoding="utf-8")
    error = rejected_at(bundle)
    assert error.index == 40 and "origin" in error.message


def test_checkpoint_under_another_file_name(bundle):
    checkpoints = bundle / "checkpoints"
    (checkpoints / f"{64:020d}").rename(checkpoints / f"{63:020d}")
    error = rejected_at(bundle)
    assert error.index == 40 and "tree size 64" in error.message


def test_checkpoint_with_another_root(bundle, entries, key):
    forged = entries[:63] + [entries[0]]
    (bundle / "checkpoints" / f"{64:020d}").write_text(checkpoint_note(forged, 64, key), encoding="utf-8")
    error = rejected_at(bundle)
    assert error.index == 40 and "root" in error.message


def test_dense_checkpoints_pin_the_exact_entry(tmp_path, key):
    entries = make_entries(20)
    bundle = write_bundle(tmp_path / "dense", entries, list(range(1, 21)), key)
    assert tv.verify_bundle(bundle)["checkpoints"] == 20
    lines = read_lines(bundle)
    lines[13] = lines[13].replace(b"user-", b"vser-")
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == 13
    del lines[13]
    write_lines(bundle, lines)
    assert rejected_at(bundle).index == 13


def test_malformed_bundles(tmp_path, entries, key):
    bundle = write_bundle(tmp_path / "stray", entries, SIZES, key)
    (bundle / "checkpoints" / "latest").write_text("x")
    assert rejected_at(bundle).index is None
    bundle = write_bundle(tmp_path / "vkey", entries, SIZES, key)
    (bundle / "key.vkey").write_text(vkey_of(key, ORIGIN).replace("+", "-", 1) + "\n")
    assert rejected_at(bundle).index is None
    bundle = write_bundle(tmp_path / "nolog", entries, SIZES, key)
    (bundle / "entries.jsonl").unlink()
    assert rejected_at(bundle).index is None

"""Independent verifier for Keel's audit transparency log, used by the end-to-end tests.

Why this exists: an exported audit log is only worth something if anyone can check it with
nothing but public standards. This module is that check, written from the standards alone; it
imports and calls no Keel code, so it is evidence that the formats are the standard ones:

* RFC 9162 §2.1 (Certificate Transparency 2.0; the same tree as RFC 6962): Merkle tree hash,
  inclusion proofs (§2.1.3) and consistency proofs (§2.1.4).
* RFC 8785, JSON Canonicalization Scheme: every log entry is canonical JSON.
* C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys in the verifier-key form of
  golang.org/x/mod/sumdb/note, and C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) for
  the signed tree heads.

Only the Python standard library and `cryptography` (for Ed25519) are used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class VerificationError(Exception):
    """A check failed. `index` is the first log entry the failure concerns, or None if it concerns
    no entry in particular (a malformed key, note or proof)."""

    def __init__(self, index: int | None, message: str):
        super().__init__(index, message)
        self.index = index
        self.message = message

    def __str__(self) -> str:
        return self.message if self.index is None else f"entry {self.index}: {self.message}"


def _fail(message: str) -> VerificationError:
    return VerificationError(None, message)


# --- RFC 9162 §2.1.1: the Merkle Tree Hash ---------------------------------------------------

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH(), the hash of an empty string


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right), an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of the leaf entries, written as the RFC's recursive definition:
    MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(leaves[0])
    k = _split(n)
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def merkle_root_of_hashes(leaf_hashes: list[bytes]) -> bytes:
    """The same MTH from already-hashed leaves, iteratively in O(n).

    The tree of size n is made of the complete subtrees of the binary decomposition of n, largest
    on the left (the RFC always splits off the largest power of two). We keep their roots on a
    stack, merging equal sizes as leaves arrive, and fold them right to left at the end."""
    stack: list[tuple[int, bytes]] = []
    for h in leaf_hashes:
        _push(stack, h)
    return _fold(stack)


def _push(stack: list[tuple[int, bytes]], h: bytes) -> None:
    size = 1
    while stack and stack[-1][0] == size:
        h = node_hash(stack.pop()[1], h)
        size *= 2
    stack.append((size, h))


def _fold(stack: list[tuple[int, bytes]]) -> bytes:
    if not stack:
        return EMPTY_ROOT
    h = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        h = node_hash(left, h)
    return h


# --- RFC 9162 §2.1.3.1 and §2.1.4.1: generating proofs (the recursive definitions) ------------


def _mth(leaf_hashes: list[bytes], lo: int, hi: int, cache: dict | None) -> bytes:
    """MTH(D[lo:hi]) from the leaf hashes. `cache`, if given, memoizes large subtrees so that many
    proofs over the same (append-only) leaves cost O(log n) each instead of O(n)."""
    if cache is None or hi - lo < 256:
        return merkle_root_of_hashes(leaf_hashes[lo:hi])
    if (lo, hi) not in cache:
        k = _split(hi - lo)
        cache[(lo, hi)] = node_hash(_mth(leaf_hashes, lo, lo + k, cache), _mth(leaf_hashes, lo + k, hi, cache))
    return cache[(lo, hi)]


def inclusion_proof(leaf_hashes: list[bytes], index: int, size: int, cache: dict | None = None) -> list[bytes]:
    """PATH(index, D[size]):
    PATH(m, D[1]) = {};  for m < k: PATH(m, D[0:k]) : MTH(D[k:n]);  else PATH(m - k, D[k:n]) : MTH(D[0:k])."""
    if not 0 <= index < size <= len(leaf_hashes):
        raise ValueError(f"no leaf {index} in a tree of size {size} (of {len(leaf_hashes)} leaves)")

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = _split(hi - lo)
        if m < k:
            return path(m, lo, lo + k) + [_mth(leaf_hashes, lo + k, hi, cache)]
        return path(m - k, lo + k, hi) + [_mth(leaf_hashes, lo, lo + k, cache)]

    return path(index, 0, size)


def consistency_proof(leaf_hashes: list[bytes], first: int, second: int, cache: dict | None = None) -> list[bytes]:
    """PROOF(first, D[second]) = SUBPROOF(first, D[second], true):
    SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])};
    for m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);  else SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    The RFC defines it for 0 < first < second; for first 0 or first == second there is nothing
    to prove and the proof is empty."""
    if not 0 <= first <= second <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from size {first} to {second} (of {len(leaf_hashes)} leaves)")
    if first == 0:
        return []

    def subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [_mth(leaf_hashes, lo, hi, cache)]
        k = _split(n)
        if m <= k:
            return subproof(m, lo, lo + k, b) + [_mth(leaf_hashes, lo + k, hi, cache)]
        return subproof(m - k, lo + k, hi, False) + [_mth(leaf_hashes, lo, lo + k, cache)]

    return subproof(first, 0, second, True)


# --- RFC 9162 §2.1.3.2 and §2.1.4.2: verifying proofs -----------------------------------------


def _check_hashes(*hashes: bytes) -> None:
    if any(not isinstance(h, bytes) or len(h) != HASH_SIZE for h in hashes):
        raise _fail(f"every hash must be {HASH_SIZE} bytes")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise VerificationError unless `proof` shows that `leaf_hash` is leaf
    `index` of the tree of `size` leaves whose root is `root`."""
    _check_hashes(leaf_hash, root, *proof)
    if not 0 <= index < size:  # step 1
        raise _fail(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash  # steps 2 and 3
    for p in proof:  # step 4
        if sn == 0:
            raise _fail("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 5
        raise _fail("inclusion proof is too short")
    if r != root:
        raise _fail("inclusion proof does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2: raise VerificationError unless `proof` shows that the tree of `first`
    leaves with `first_root` is a prefix of the tree of `second` leaves with `second_root`.
    The RFC's algorithm is for 0 < first < second; for the trivial cases the proof must be empty,
    first == second needs equal roots and first == 0 needs the empty tree's root."""
    _check_hashes(first_root, second_root, *proof)
    if not 0 <= first <= second:
        raise _fail(f"tree size {second} is smaller than {first}")
    if first == second or first == 0:
        if proof:
            raise _fail("consistency proof must be empty here")
        if first == second and first_root != second_root:
            raise _fail(f"two different roots for tree size {first}")
        if first == 0 and first_root != EMPTY_ROOT:
            raise _fail("the root of the empty tree must be SHA-256 of the empty string")
        return
    if not proof:  # step 1
        raise _fail("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise _fail("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise _fail("consistency proof is too short")
    if fr != first_root:
        raise _fail(f"consistency proof does not lead to the root of tree size {first}")
    if sr != second_root:
        raise _fail(f"consistency proof does not lead to the root of tree size {second}")


# --- RFC 8785: JSON Canonicalization Scheme ---------------------------------------------------

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def canonical_json(value) -> bytes:
    """The RFC 8785 canonical form of a JSON value (None, bool, int, float, str, list, dict), as
    UTF-8: no whitespace, object members sorted by the UTF-16 code units of their names (§3.2.3),
    strings and numbers serialized as ECMAScript does (§3.2.2). Raises ValueError (NaN, Infinity,
    lone surrogates) or TypeError (anything that is not JSON)."""
    out: list[str] = []
    _serialize(value, out)
    return "".join(out).encode("utf-8")


def _serialize(value, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, (int, float)):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(name, str) for name in value):
            raise TypeError("JSON object member names must be strings")
        out.append("{")
        for i, name in enumerate(sorted(value, key=lambda s: s.encode("utf-16-be", "surrogatepass"))):
            if i:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _serialize(value[name], out)
        out.append("}")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _string(s: str) -> str:
    """§3.2.2.2: escape only '"', '\\' and U+0000..U+001F (\\b \\t \\n \\f \\r, else \\u00xx)."""
    out = ['"']
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif "\ud800" <= ch <= "\udfff":
            raise ValueError(f"lone surrogate U+{ord(ch):04X} is not Unicode text (RFC 8785 §3.2.2.2)")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(x: int | float) -> str:
    """§3.2.2.3: an IEEE-754 double written as ECMAScript's Number::toString does.

    Python's repr gives the shortest digit string that reads back as the same double (the
    correctly rounded one when several are that short), which is ECMAScript's choice of s and k;
    we then place the decimal point by ECMAScript's rules for n, the decimal exponent."""
    if isinstance(x, int):
        if abs(x) <= 2**53:
            return str(x)  # every such integer is a double, and ECMAScript prints it plainly
        try:
            x = float(x)  # beyond 2**53 JSON numbers are still doubles: take the nearest one
        except OverflowError:
            raise ValueError(f"integer {x} is beyond the range of an IEEE-754 double") from None
    if not math.isfinite(x):
        raise ValueError(f"{x} is not a JSON number (RFC 8785 §3.2.2.3)")
    if x == 0:
        return "0"  # also -0
    sign = "-" if x < 0 else ""
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    n = len(whole) + int(exponent or "0")  # the value is 0.<digits> * 10**n
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)  # the value is <digits> * 10**(n - k), with k as small as possible
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    exp = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp
    return sign + digits[0] + "." + digits[1:] + "e" + exp


# --- C2SP signed-note, Ed25519 ----------------------------------------------------------------

_ED25519 = 0x01  # the signed-note signature type of Ed25519
_MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _fail(f"not standard base64: {text!r}") from None


def _valid_name(name: str) -> bool:
    """Key names are non-empty and contain neither Unicode spaces nor '+'."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([_ED25519]) + public_key).digest()[:4]


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """A verifier key "<name>+<key ID as 8 hex digits>+<base64(0x01 || public key)>" (the
    golang.org/x/mod/sumdb/note form) -> (name, key ID, 32-byte Ed25519 public key)."""
    parts = vkey.split("+", 2)  # names have no '+'; the base64 key may
    if len(parts) != 3:
        raise _fail("verifier key is not <name>+<key ID>+<key>")
    name, hex_id, key64 = parts
    if not _valid_name(name):
        raise _fail(f"invalid key name {name!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
        raise _fail(f"key ID {hex_id!r} is not 8 hex digits")
    key = _b64decode(key64)
    if len(key) != 1 + 32 or key[0] != _ED25519:
        raise _fail("verifier key is not an Ed25519 key (type 0x01 and 32 bytes)")
    kid, public_key = bytes.fromhex(hex_id), key[1:]
    if kid != key_id(name, public_key):
        raise _fail("key ID does not match the key name and public key")
    return name, kid, public_key


def open_note(note: str, vkey: str) -> str:
    """Verify a signed note with one Ed25519 verifier key and return its text (which ends in a
    newline). The text and the signature lines "— <name> <base64(key ID || signature)>" are
    separated by the last blank line. Lines of other keys (another name or key ID) are ignored;
    a line of this key that does not verify, a malformed note, or no line of this key is an error."""
    name, kid, public_key = parse_vkey(vkey)
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail("note is not valid UTF-8") from None
    if any(ch < " " and ch != "\n" for ch in note):
        raise _fail("note contains a control character other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise _fail("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise _fail("note does not end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise _fail("note has too many signatures")
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    verified = 0
    for line in lines:
        if not line.startswith("\u2014 "):
            raise _fail(f"not a signature line: {line!r}")
        signer, _, sig64 = line[2:].partition(" ")
        if not _valid_name(signer) or not sig64:
            raise _fail(f"malformed signature line: {line!r}")
        sig = _b64decode(sig64)
        if len(sig) < 5:
            raise _fail(f"signature too short: {line!r}")
        if signer != name or sig[:4] != kid:
            continue  # another key's signature (e.g. a witness): not ours to judge
        try:
            verifier.verify(sig[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise _fail(f"invalid signature by {name}+{kid.hex()}") from None
        verified += 1
    if not verified:
        raise _fail(f"note is not signed by {name}+{kid.hex()}")
    return text


# --- C2SP tlog-checkpoint ---------------------------------------------------------------------


def parse_checkpoint(text: str) -> dict:
    """A checkpoint note text: origin, tree size (decimal, no leading zeros), base64 root hash,
    then optional non-empty extension lines, each line ending in a newline."""
    if not text.endswith("\n"):
        raise _fail("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or "" in lines:
        raise _fail("a checkpoint is at least three lines, none of them empty")
    origin, size, root64, *extensions = lines
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise _fail(f"tree size {size!r} is not a decimal number without leading zeros")
    root = _b64decode(root64)
    if len(root) != HASH_SIZE:
        raise _fail(f"root hash is {len(root)} bytes, not {HASH_SIZE}")
    return {"origin": origin, "size": int(size), "root": root, "extensions": extensions}


# --- A log bundle -----------------------------------------------------------------------------

_CHECKPOINT_FILE = re.compile(r"[0-9]{20}")


def _read_vkey(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(f"cannot read key.vkey: {e}") from None
    if text.endswith("\n"):
        text = text[:-1]
    if "\n" in text:
        raise _fail("key.vkey is not a single line")
    return text


def _checkpoint_files(directory: Path) -> list[tuple[int, Path]]:
    if not directory.is_dir():
        raise _fail("the bundle has no checkpoints/ directory")
    found = []
    for path in directory.iterdir():
        if not _CHECKPOINT_FILE.fullmatch(path.name) or not path.is_file():
            raise _fail(f"checkpoints/{path.name} is not named by a 20-digit tree size")
        found.append((int(path.name), path))
    return sorted(found)


def _read_checkpoint(path: Path, size: int, vkey: str, origin: str, verified: int) -> dict:
    """The checkpoint in `path`, after its signature; errors name `verified`, the first entry no
    good checkpoint covers yet."""
    try:
        checkpoint = parse_checkpoint(open_note(path.read_bytes().decode("utf-8"), vkey))
    except UnicodeDecodeError:
        raise VerificationError(verified, f"checkpoint {path.name} is not UTF-8") from None
    except VerificationError as e:
        raise VerificationError(verified, f"checkpoint {path.name}: {e.message}") from None
    if checkpoint["origin"] != origin:
        raise VerificationError(verified, f"checkpoint {path.name} has origin {checkpoint['origin']!r}, not {origin!r}")
    if checkpoint["size"] != size:
        raise VerificationError(verified, f"checkpoint {path.name} is for tree size {checkpoint['size']}")
    return checkpoint


def _entry_leaf_hash(index: int, line: bytes) -> bytes:
    """The leaf hash of one line of entries.jsonl, which must be RFC 8785 canonical JSON."""
    if not line.endswith(b"\n"):
        raise VerificationError(index, "the last line is not terminated by a newline")
    entry = line[:-1]
    try:
        value = json.loads(entry.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise VerificationError(index, f"not UTF-8 JSON: {e}") from None
    try:
        canonical = canonical_json(value)
    except (TypeError, ValueError) as e:
        raise VerificationError(index, f"not canonicalizable: {e}") from None
    if canonical != entry:
        at = next((i for i, (a, b) in enumerate(zip(canonical, entry)) if a != b), min(len(canonical), len(entry)))
        raise VerificationError(index, f"not RFC 8785 canonical JSON (differs from its canonical form at byte {at})")
    return leaf_hash(entry)


def verify_bundle(path) -> dict:
    """Verify an exported log bundle:

    entries.jsonl   line i, without its "\\n", is exactly leaf i; it must be canonical JSON
    checkpoints/    <tree size, 20 digits>: a note signed by key.vkey holding a checkpoint
                    whose origin is the key's name and whose size is the file name
    timestamps/     not checked here
    key.vkey        the verifier key, one line

    One streaming pass rebuilds the tree and, at every checkpoint size, checks the signature, the
    root, and consistency with the previous checkpoint (by a proof generated from the leaves and
    verified as RFC 9162 says). Then inclusion of the first, the last and about 100 spread entries
    is proven against the last checkpoint. Entries after the last checkpoint are an error.

    Raises VerificationError naming the first entry not proven: the entry itself when its line is
    bad; for a checkpoint that fails (signature, root, consistency), the first entry after the
    last good checkpoint, since a root cannot tell which of the entries since differs.
    Returns {"entries": N, "checkpoints": K, "verified_size": size of the last checkpoint}."""
    bundle = Path(path)
    vkey = _read_vkey(bundle / "key.vkey")
    origin = parse_vkey(vkey)[0]
    checkpoints = _checkpoint_files(bundle / "checkpoints")
    entries = bundle / "entries.jsonl"
    if not entries.is_file():
        raise _fail("the bundle has no entries.jsonl")

    leaf_hashes: list[bytes] = []
    stack: list[tuple[int, bytes]] = []  # complete subtrees of the tree so far, see merkle_root_of_hashes
    cache: dict = {}
    size, root = 0, EMPTY_ROOT  # the last verified checkpoint; the empty tree to begin with
    with entries.open("rb") as lines:
        for next_size, checkpoint_path in checkpoints:
            checkpoint = _read_checkpoint(checkpoint_path, next_size, vkey, origin, size)
            while len(leaf_hashes) < next_size:
                line = lines.readline()
                if not line:
                    missing = f"the checkpoint for tree size {next_size} covers entries the log does not have"
                    raise VerificationError(len(leaf_hashes), missing)
                h = _entry_leaf_hash(len(leaf_hashes), line)
                leaf_hashes.append(h)
                _push(stack, h)
            if _fold(stack) != checkpoint["root"]:
                differs = f"some entry from {size} on differs from what the checkpoint for tree size {next_size} signs"
                raise VerificationError(size, f"the entries do not hash to the signed root: {differs}")
            try:
                proof = consistency_proof(leaf_hashes, size, next_size, cache)
                verify_consistency(size, next_size, root, checkpoint["root"], proof)
            except VerificationError as e:
                raise VerificationError(size, f"tree size {size} to {next_size}: {e.message}") from None
            size, root = next_size, checkpoint["root"]
        if lines.readline():
            raise VerificationError(size, f"unsigned entries from index {size}")

    sample = sorted({0, size - 1, *range(0, size, max(1, size // 100))}) if size else []
    for index in sample:
        try:
            verify_inclusion(leaf_hashes[index], index, size, inclusion_proof(leaf_hashes, index, size, cache), root)
        except VerificationError as e:
            raise VerificationError(index, f"inclusion in tree size {size}: {e.message}") from None
    return {"entries": len(leaf_hashes), "checkpoints": len(checkpoints), "verified_size": size}

//! Checks the audit log's evidence in the browser from the standards alone, trusting nothing the
//! server says about itself: the C2SP signed note (Ed25519, key ID and verifier-key form of
//! golang.org/x/mod/sumdb/note), the C2SP tlog-checkpoint it carries, and RFC 9162 Merkle hashes
//! and inclusion proofs (§2.1.3.2). WebCrypto only; no UI code, so tests run it as is.

/** Bytes WebCrypto accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** What failed, for the page to explain it (and tests to tell the cases apart). */
export type TlogFailure =
  | 'unsupported'
  | 'malformed-key'
  | 'malformed-note'
  | 'bad-signature'
  | 'unsigned'
  | 'malformed-checkpoint'
  | 'wrong-origin'
  | 'malformed-proof'
  | 'root-mismatch';

export class TlogError extends Error {
  constructor(
    readonly reason: TlogFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TlogError';
  }
}

/** A note verifier key: `<name>+<key ID, 8 hex digits>+<base64(0x01 || Ed25519 public key)>`. */
export interface VerifierKey {
  name: string;
  keyId: Bytes;
  publicKey: Bytes;
}

/** A signed tree head: the log's name, its size and its root hash. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Bytes;
  /** Extension lines after the root, if any. */
  extensions: string[];
}

const HASH_SIZE = 32;
/** The signed-note signature type of Ed25519. */
const ED25519 = 0x01;
const encoder = new TextEncoder();

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new TlogError(
      'unsupported',
      'This browser offers no WebCrypto here: a page served over plain HTTP from another host is not a secure context. Open Keel over HTTPS (or on localhost) to verify.',
    );
  }
  return s;
}

function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Standard base64 (with padding), strictly: anything else is `undefined`. */
export function fromBase64(text: string): Bytes | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256(...parts: Uint8Array[]): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', concat(...parts)));
}

/** RFC 9162 §2.1.1: a leaf's hash, SHA-256(0x00 || entry). */
export const leafHash = (entry: Uint8Array) => sha256(Uint8Array.of(0), entry);

/** RFC 9162 §2.1.1: an interior node's hash, SHA-256(0x01 || left || right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(Uint8Array.of(1), left, right);

const validName = (name: string) => name !== '' && !name.includes('+') && !/\s/u.test(name);

/** The key ID: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export async function keyId(name: string, publicKey: Uint8Array): Promise<Bytes> {
  return (await sha256(encoder.encode(name), Uint8Array.of(0x0a, ED25519), publicKey)).slice(0, 4);
}

/** Parses a verifier key and checks that its key ID belongs to its name and public key. */
export async function parseVerifierKey(vkey: string): Promise<VerifierKey> {
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new TlogError('malformed-key', 'The log key is not of the form <name>+<key ID>+<key>.');
  const name = text.slice(0, first);
  const hexId = text.slice(first + 1, second);
  const key = fromBase64(text.slice(second + 1));
  if (!validName(name)) throw new TlogError('malformed-key', `The log key has an invalid name ${JSON.stringify(name)}.`);
  if (!/^[0-9a-f]{8}$/i.test(hexId)) throw new TlogError('malformed-key', `The log key's ID ${JSON.stringify(hexId)} is not 8 hex digits.`);
  if (!key || key.length !== 33 || key[0] !== ED25519) {
    throw new TlogError('malformed-key', 'The log key is not an Ed25519 key (type 0x01 and 32 bytes, base64).');
  }
  const publicKey = key.slice(1);
  const id = await keyId(name, publicKey);
  if (toHex(id) !== hexId.toLowerCase()) {
    throw new TlogError('malformed-key', 'The log key\'s ID does not match its name and public key.');
  }
  return { name, keyId: id, publicKey };
}

async function ed25519Verify(publicKey: Bytes, signature: Bytes, message: Bytes): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await subtle().importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  } catch (err) {
    if (err instanceof TlogError) throw err;
    throw new TlogError('unsupported', `This browser cannot verify Ed25519 signatures (${(err as Error).message}).`);
  }
  return subtle().verify({ name: 'Ed25519' }, key, signature, message);
}

/**
 * Verifies a signed note with the log's key and answers its text (ending in a newline). The text
 * and the signature lines `— <name> <base64(key ID || signature)>` are split at the last blank
 * line. Other keys' lines (witnesses) are skipped; a line of this key that does not verify, or no
 * line of this key at all, is a failure.
 */
export async function openNote(note: string, key: VerifierKey): Promise<string> {
  // Control characters other than newline are not allowed anywhere in a note.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new TlogError('malformed-note', 'The checkpoint contains a control character.');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new TlogError('malformed-note', 'The checkpoint has no blank line before its signatures.');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new TlogError('malformed-note', 'The checkpoint does not end with a signature line.');
  const label = `${key.name}+${toHex(key.keyId)}`;
  let verified = 0;
  for (const line of block.slice(0, -1).split('\n')) {
    if (!line.startsWith('\u2014 ')) throw new TlogError('malformed-note', `Not a signature line: ${JSON.stringify(line)}.`);
    const [signer, sig64, ...extra] = line.slice(2).split(' ');
    const sig = fromBase64(sig64 ?? '');
    if (!validName(signer) || extra.length > 0 || !sig || sig.length < 5) {
      throw new TlogError('malformed-note', `Malformed signature line: ${JSON.stringify(line)}.`);
    }
    if (signer !== key.name || !equalBytes(sig.slice(0, 4), key.keyId)) continue;
    if (sig.length !== 4 + 64 || !(await ed25519Verify(key.publicKey, sig.slice(4), encoder.encode(text)))) {
      throw new TlogError('bad-signature', `The checkpoint's signature by ${label} does not verify: its text is not what the log key signed.`);
    }
    verified += 1;
  }
  if (verified === 0) throw new TlogError('unsigned', `The checkpoint carries no signature by the log key ${label}.`);
  return text;
}

/** A checkpoint's text: origin, decimal tree size, base64 root hash, optional extension lines. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new TlogError('malformed-checkpoint', 'The checkpoint text does not end with a newline.');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.includes('')) {
    throw new TlogError('malformed-checkpoint', 'A checkpoint is at least three lines, none of them empty.');
  }
  const [origin, sizeText, root64, ...extensions] = lines;
  const size = Number(sizeText);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(size)) {
    throw new TlogError('malformed-checkpoint', `The checkpoint's tree size ${JSON.stringify(sizeText)} is not a decimal number.`);
  }
  const root = fromBase64(root64);
  if (!root || root.length !== HASH_SIZE) throw new TlogError('malformed-checkpoint', 'The checkpoint\'s root hash is not 32 bytes of base64.');
  return { origin, size, root, extensions };
}

/** Verifies a checkpoint note with the log's verifier key; its origin must be the key's name. */
export async function openCheckpoint(note: string, vkey: string): Promise<Checkpoint> {
  const key = await parseVerifierKey(vkey);
  const checkpoint = parseCheckpoint(await openNote(note, key));
  if (checkpoint.origin !== key.name) {
    throw new TlogError('wrong-origin', `The checkpoint is of the log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(key.name)}.`);
  }
  return checkpoint;
}

/**
 * RFC 9162 §2.1.3.2: the root an inclusion proof leads to from leaf `index` (with hash `leaf`)
 * of a tree of `size` leaves. Sizes may exceed 2^32, so no bitwise operators.
 */
export async function rootFromInclusionProof(leaf: Bytes, index: number, size: number, proof: Bytes[]): Promise<Bytes> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new TlogError('malformed-proof', `Leaf index ${index} is not below the tree size ${size}.`);
  }
  if (proof.some((h) => h.length !== HASH_SIZE)) throw new TlogError('malformed-proof', 'Every hash of the proof must be 32 bytes.');
  const odd = (n: number) => n % 2 === 1;
  const half = (n: number) => Math.floor(n / 2);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new TlogError('malformed-proof', 'The inclusion proof is too long.');
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new TlogError('malformed-proof', 'The inclusion proof is too short.');
  return r;
}

/** Checks that `entry` (its exact bytes) is leaf `index` of the checkpoint's tree by `proof`. */
export async function verifyInclusion(entry: Uint8Array, index: number, checkpoint: Checkpoint, proof: Bytes[]): Promise<void> {
  const root = await rootFromInclusionProof(await leafHash(entry), index, checkpoint.size, proof);
  if (!equalBytes(root, checkpoint.root)) {
    throw new TlogError(
      'root-mismatch',
      `The entry and its proof lead to the root ${toBase64(root)}, not to the signed root ${toBase64(checkpoint.root)}: the entry or the proof is not what the log signed.`,
    );
  }
}

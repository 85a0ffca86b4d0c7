// Unit tests of src/lib/tlog.ts, the browser's check of the audit log's evidence, in node (no
// browser, no keel): the module is compiled with TypeScript as is and run against a log built
// here from RFC 9162's recursive definitions and a note signed here with a fresh Ed25519 key
// (node's own crypto) — then against every tampering it must refuse, each with its reason.
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
let tlog;
let dir;

before(async () => {
  const source = readFileSync(join(here, '../src/lib/tlog.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  dir = mkdtempSync(join(tmpdir(), 'keel-tlog-'));
  writeFileSync(join(dir, 'tlog.mjs'), outputText);
  tlog = await import(pathToFileURL(join(dir, 'tlog.mjs')).href);
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

// --- an independent log: RFC 9162 §2.1.1 and §2.1.3.1, written from the RFC --------------------

const sha = (...parts) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest());
const leafHash = (entry) => sha([0], entry);
const nodeHash = (l, r) => sha([1], l, r);
const split = (n) => 2 ** Math.floor(Math.log2(n - 1));
const mth = (leaves) => (leaves.length === 1 ? leafHash(leaves[0]) : nodeHash(mth(leaves.slice(0, split(leaves.length))), mth(leaves.slice(split(leaves.length)))));
function path(m, leaves) {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const utf8 = (s) => new TextEncoder().encode(s);

const ENTRIES = Array.from({ length: 7 }, (_, i) => utf8(`{"action":"runs.update","outcome":"success","seq":${i}}`));
const NAME = 'keel.test/audit';

async function keyPair(name) {
  const pair = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pub = new Uint8Array(await webcrypto.subtle.exportKey('raw', pair.publicKey));
  const id = sha(utf8(name), [0x0a, 0x01], pub).slice(0, 4);
  return { name, id, privateKey: pair.privateKey, vkey: `${name}+${Buffer.from(id).toString('hex')}+${b64([1, ...pub])}` };
}

async function sign(key, text) {
  const sig = new Uint8Array(await webcrypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, utf8(text)));
  return `\u2014 ${key.name} ${b64([...key.id, ...sig])}\n`;
}

/** A signed checkpoint note of the first `size` entries. */
async function note(key, size, origin = key.name) {
  const text = `${origin}\n${size}\n${b64(mth(ENTRIES.slice(0, size)))}\n`;
  return `${text}\n${await sign(key, text)}`;
}

const rejects = (promise, reason) =>
  assert.rejects(promise, (err) => {
    assert.equal(err.name, 'TlogError', err.message);
    assert.equal(err.reason, reason, err.message);
    return true;
  });

let log;
before(async () => {
  log = await keyPair(NAME);
});

test('a signed checkpoint opens with its key and every entry proves against it', async () => {
  for (let size = 1; size <= ENTRIES.length; size += 1) {
    const checkpoint = await tlog.openCheckpoint(await note(log, size), log.vkey);
    assert.equal(checkpoint.origin, NAME);
    assert.equal(checkpoint.size, size);
    assert.deepEqual([...checkpoint.root], [...mth(ENTRIES.slice(0, size))]);
    for (let i = 0; i < size; i += 1) {
      await tlog.verifyInclusion(ENTRIES[i], i, checkpoint, path(i, ENTRIES.slice(0, size)));
    }
  }
  assert.deepEqual([...(await tlog.leafHash(ENTRIES[0]))], [...leafHash(ENTRIES[0])]);
});

test('a witness signature of another key is skipped', async () => {
  const witness = await keyPair('witness.example');
  const signed = await note(log, 5);
  const text = signed.slice(0, signed.lastIndexOf('\n\n') + 1);
  const cosigned = `${signed}${await sign(witness, text)}`;
  assert.equal((await tlog.openCheckpoint(cosigned, log.vkey)).size, 5);
  // ...but it does not stand in for the log's own signature.
  await rejects(tlog.openCheckpoint(`${text}\n${await sign(witness, text)}`, log.vkey), 'unsigned');
});

test('a modified entry or a modified proof does not lead to the signed root', async () => {
  const checkpoint = await tlog.openCheckpoint(await note(log, 7), log.vkey);
  const proof = path(3, ENTRIES);
  const altered = utf8(new TextDecoder().decode(ENTRIES[3]).replace('success', 'failure'));
  await rejects(tlog.verifyInclusion(altered, 3, checkpoint, proof), 'root-mismatch');
  const flipped = proof.map((h, i) => (i === 1 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
  await rejects(tlog.verifyInclusion(ENTRIES[3], 3, checkpoint, flipped), 'root-mismatch');
  // The right entry at another index, a proof with a hash too few or too many.
  await rejects(tlog.verifyInclusion(ENTRIES[3], 2, checkpoint, proof), 'root-mismatch');
  await rejects(tlog.verifyInclusion(ENTRIES[3], 3, checkpoint, proof.slice(1)), 'malformed-proof');
  await rejects(tlog.verifyInclusion(ENTRIES[3], 3, checkpoint, [...proof, proof[0]]), 'malformed-proof');
  await rejects(tlog.verifyInclusion(ENTRIES[3], 7, checkpoint, proof), 'malformed-proof');
});

test('a checkpoint is refused with the wrong key, a changed text, another origin or a bad key', async () => {
  const signed = await note(log, 7);
  // Another key of the same name: its key ID differs, so the note carries none of its signatures.
  const impostor = await keyPair(NAME);
  await rejects(tlog.openCheckpoint(signed, impostor.vkey), 'unsigned');
  // The signed text changed (a smaller tree claimed): the signature no longer verifies.
  await rejects(tlog.openCheckpoint(signed.replace(`${NAME}\n7\n`, `${NAME}\n6\n`), log.vkey), 'bad-signature');
  // The same key ID with a signature of other bytes.
  const other = await note(log, 6);
  const forged = signed.slice(0, signed.lastIndexOf('\n\n') + 2) + other.slice(other.lastIndexOf('\n\n') + 2);
  await rejects(tlog.openCheckpoint(forged, log.vkey), 'bad-signature');
  // Signed by the key, but for another log's name.
  await rejects(tlog.openCheckpoint(await note(log, 7, 'another.log'), log.vkey), 'wrong-origin');
  // A key whose ID does not belong to its name and key; not a note at all.
  const [, hex, key] = log.vkey.split('+');
  await rejects(tlog.openCheckpoint(signed, `other.name+${hex}+${key}`), 'malformed-key');
  await rejects(tlog.openCheckpoint(signed, 'not a key'), 'malformed-key');
  await rejects(tlog.openCheckpoint('no signatures here\n', log.vkey), 'malformed-note');
  await rejects(tlog.openCheckpoint(signed.replace('\u2014 ', '- '), log.vkey), 'malformed-note');
});

test('proofs of trees beyond 2^32 entries are walked without 32-bit overflow', async () => {
  const leaf = sha(utf8('leaf'));
  const hashes = Array.from({ length: 33 }, (_, i) => sha(utf8(`node ${i}`)));
  // The last leaf of 2^32 + 1: its only sibling is the complete left subtree.
  const size = 2 ** 32 + 1;
  assert.deepEqual([...(await tlog.rootFromInclusionProof(leaf, 2 ** 32, size, [hashes[0]]))], [...nodeHash(hashes[0], leaf)]);
  // The first leaf: 32 right siblings in its subtree, then the last leaf on the right.
  let expected = leaf;
  for (const h of hashes) expected = nodeHash(expected, h);
  assert.deepEqual([...(await tlog.rootFromInclusionProof(leaf, 0, size, hashes))], [...expected]);
});

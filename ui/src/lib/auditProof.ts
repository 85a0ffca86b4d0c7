//! Proves that one audit entry is in the log, in the browser: the latest checkpoint and the log's
//! key are fetched, the checkpoint's signature checked, then the entry's inclusion proof at the
//! checkpoint's size checked against the signed root (lib/tlog does the checking).
import { getCheckpointNote, getInclusionProof, getVerifierKey } from '../api/audit';
import { TlogError, fromBase64, openCheckpoint, toBase64, verifyInclusion } from './tlog';

export type InclusionResult =
  /** The entry is leaf `index` of the signed checkpoint of `size` entries with `root` (base64). */
  | { status: 'verified'; origin: string; size: number; root: string; proofLength: number }
  /** The latest checkpoint (of `size` entries, signature checked) was signed before the entry was appended. */
  | { status: 'not-yet'; origin: string; size: number };

/** Proves leaf `index`, whose exact bytes are `leaf`. Failures throw (`TlogError` for a check). */
export async function proveInclusion(index: number, leaf: Uint8Array, signal?: AbortSignal): Promise<InclusionResult> {
  const [note, vkey] = await Promise.all([getCheckpointNote(signal), getVerifierKey(signal)]);
  const checkpoint = await openCheckpoint(note, vkey);
  if (index >= checkpoint.size) return { status: 'not-yet', origin: checkpoint.origin, size: checkpoint.size };
  const proof = await getInclusionProof(index, checkpoint.size, signal);
  if (proof.leaf_index !== index || proof.tree_size !== checkpoint.size) {
    throw new TlogError('malformed-proof', `The server answered a proof for leaf ${proof.leaf_index} of ${proof.tree_size}, not ${index} of ${checkpoint.size}.`);
  }
  const hashes = (proof.hashes ?? []).map(fromBase64);
  if (hashes.some((h) => h === undefined)) throw new TlogError('malformed-proof', 'A hash of the proof is not base64.');
  await verifyInclusion(leaf, index, checkpoint, hashes as NonNullable<(typeof hashes)[number]>[]);
  return { status: 'verified', origin: checkpoint.origin, size: checkpoint.size, root: toBase64(checkpoint.root), proofLength: hashes.length };
}

//! An audit entry's inclusion proof, checked in the browser (lib/auditProof): verified against
//! the signed checkpoint, not in a checkpoint yet (with a retry), or exactly what failed.
import { useAsync } from '../../lib/useAsync';
import { proveInclusion } from '../../lib/auditProof';
import { TlogError, type TlogFailure } from '../../lib/tlog';

const FAILURES: Record<TlogFailure, string> = {
  unsupported: 'this browser cannot check it',
  'malformed-key': 'the log key is malformed',
  'malformed-note': 'the checkpoint is malformed',
  'bad-signature': 'bad signature',
  unsigned: 'not signed by the log key',
  'malformed-checkpoint': 'the checkpoint is malformed',
  'wrong-origin': 'the checkpoint is of another log',
  'malformed-proof': 'the proof is malformed',
  'root-mismatch': 'root mismatch',
};

export function InclusionCard({ index, leaf }: { index: number; leaf: Uint8Array }) {
  const proof = useAsync((signal) => proveInclusion(index, leaf, signal), [index, leaf]);
  const result = proof.data;
  const retry = (
    <button type="button" onClick={proof.reload} disabled={proof.loading}>
      {proof.loading ? 'Checking…' : 'Check again'}
    </button>
  );
  let status: string;
  let body;
  if (proof.loading) {
    status = 'checking';
    body = <p class="muted">Checking the signed checkpoint and the inclusion proof…</p>;
  } else if (proof.error) {
    const failure = proof.error instanceof TlogError ? proof.error : undefined;
    status = 'failed';
    body = (
      <div class="banner error" role="alert" data-reason={failure?.reason}>
        <strong>{failure ? `Not verified: ${FAILURES[failure.reason]}.` : 'Could not check the proof.'}</strong> <span class="message">{proof.error.message}</span>
      </div>
    );
  } else if (result?.status === 'not-yet') {
    status = 'not-yet';
    body = (
      <p>
        <strong>Not in a signed checkpoint yet.</strong> The latest checkpoint of {result.origin} (its signature checked) covers {result.size}{' '}
        {result.size === 1 ? 'entry' : 'entries'}, and this entry was appended after it. The server signs checkpoints periodically: check again in a
        moment.
      </p>
    );
  } else if (result?.status === 'verified') {
    status = 'verified';
    body = (
      <>
        <p class="verified">
          <strong>
            Verified: included in the signed checkpoint of {result.size} {result.size === 1 ? 'entry' : 'entries'} (root <code>{result.root}</code>).
          </strong>
        </p>
        <ul class="plain-list muted">
          <li>The checkpoint's Ed25519 signature verifies with the log key of {result.origin}.</li>
          <li>
            SHA-256 of this entry's exact bytes and {result.proofLength} proof {result.proofLength === 1 ? 'hash' : 'hashes'} lead to that root (RFC 9162).
          </li>
        </ul>
      </>
    );
  } else {
    status = 'checking';
    body = null;
  }
  return (
    <section class="card inclusion" aria-label="Inclusion proof" data-testid="inclusion" data-status={status}>
      <h2>Inclusion proof</h2>
      {body}
      {!proof.loading && result?.status !== 'verified' && retry}
    </section>
  );
}

//! One audit entry (administrators): its fields and its raw canonical JSON — both read from the
//! exact bytes of its Merkle leaf, so what is shown is what is verified — and its inclusion proof
//! checked in the browser against the log's signed checkpoint.
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import { type AuditEntry, getEntry } from '../api/audit';
import { EmptyState, ErrorBanner, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { fromBase64 } from '../lib/tlog';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href } from '../router';
import { AdminsOnly, OutcomeBadge, isDenied } from './audit/common';
import { auditHref } from './audit/filters';
import { InclusionCard } from './audit/proof';
import '../styles/audit.css';

interface Decoded {
  bytes: Uint8Array;
  text: string;
  entry?: AuditEntry;
}

function decode(leaf: string): Decoded | undefined {
  const bytes = fromBase64(leaf);
  if (!bytes) return undefined;
  const text = new TextDecoder().decode(bytes);
  try {
    return { bytes, text, entry: JSON.parse(text) as AuditEntry };
  } catch {
    return { bytes, text };
  }
}

/** The page of the resource an entry names, where the UI has one. */
function resourcePage(kind: string, id: string): string | undefined {
  if (kind === 'Experiment') return href(['experiments', id]);
  if (kind === 'RegisteredModel') return href(['models', id]);
  if (kind === 'Prompt') return href(['prompts', id]);
  const slash = id.lastIndexOf('/');
  if (kind === 'ModelVersion' && slash > 0) return href(['models', id.slice(0, slash), 'versions', id.slice(slash + 1)]);
  return undefined;
}

export default function AuditEntryPage({ index }: { index: string }) {
  useTitle(`Audit entry ${index}`, 'Audit log');
  const n = /^\d+$/.test(index) ? Number(index) : NaN;
  const found = useAsync((signal) => (Number.isSafeInteger(n) ? getEntry(n, signal) : Promise.resolve(undefined)), [n]);
  const decoded = useMemo(() => (found.data ? decode(found.data.leaf) : undefined), [found.data]);
  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/audit">Audit log</a>
        <span>Entry {index}</span>
      </div>
      <div class="page-header">
        <h1>Audit entry #{index}</h1>
        {decoded?.entry && <OutcomeBadge outcome={decoded.entry.outcome} />}
      </div>
      {isDenied(found.error) ? (
        <AdminsOnly error={found.error} />
      ) : found.error ? (
        <ErrorBanner error={found.error} onRetry={found.reload} />
      ) : found.loading && !found.data ? (
        <Loading />
      ) : !found.data ? (
        <EmptyState title={`No entry ${index}`}>
          <p>
            The log has no entry at this index: not appended yet, removed by retention, or not an index. <a href="#/audit">Back to the audit log</a>
          </p>
        </EmptyState>
      ) : !decoded ? (
        <ErrorBanner error={new Error('The server sent leaf bytes that are not base64.')} />
      ) : (
        <div class="audit-entry">
          {decoded.entry ? <Fields entry={decoded.entry} /> : <p class="form-error">The entry's bytes are not JSON.</p>}
          <InclusionCard index={n} leaf={decoded.bytes} />
          <section aria-label="Canonical JSON">
            <h2>Canonical JSON</h2>
            <p class="muted">The exact bytes of the entry's Merkle leaf (RFC 8785), {decoded.bytes.length} bytes.</p>
            <pre class="block mono" data-testid="leaf-json">
              {decoded.text}
            </pre>
          </section>
        </div>
      )}
    </section>
  );
}

function Row({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <tr>
      <td>{label}</td>
      <td>{children}</td>
    </tr>
  );
}

function Fields({ entry }: { entry: AuditEntry }) {
  const { actor, resource, request } = entry;
  const page = resource.id ? resourcePage(resource.kind, resource.id) : undefined;
  return (
    <section class="card" aria-label="Entry">
      <table class="kv audit-fields">
        <tbody>
          <Row label="Time">
            {entry.time} <Time value={entry.time} />
          </Row>
          <Row label="Actor">
            {actor.name ? <a href={auditHref({ actor: actor.name })}>{actor.name}</a> : 'anonymous'} ({actor.kind.replace(/_/g, ' ')}
            {actor.id ? `, ID ${actor.id}` : ''})
          </Row>
          <Row label="Action">
            <a href={auditHref({ action: entry.action })}>{entry.action}</a>
          </Row>
          <Row label="Resource">
            {resource.kind}
            {resource.id && (
              <>
                {' '}
                <a href={auditHref({ kind: resource.kind, id: resource.id })} title="This resource's history">
                  {resource.id}
                </a>
                {page && (
                  <>
                    {' · '}
                    <a href={page}>open</a>
                  </>
                )}
              </>
            )}
          </Row>
          <Row label="Outcome">
            {entry.outcome}
            {entry.error_code ? ` (${entry.error_code})` : ''}
          </Row>
          <Row label="Event">{entry.event}</Row>
          {entry.workspace && <Row label="Workspace">{entry.workspace}</Row>}
          {request && (
            <>
              <Row label="Request">
                {request.method} {request.path}
              </Row>
              <Row label="Request ID">{request.id}</Row>
              {request.client && <Row label="Client">{request.client}</Row>}
              {request.user_agent && <Row label="User agent">{request.user_agent}</Row>}
              {request.body_sha256 && <Row label="Body SHA-256">{request.body_sha256}</Row>}
            </>
          )}
          {entry.detail !== undefined && (
            <Row label="Detail">
              <pre class="block">{JSON.stringify(entry.detail, null, 2)}</pre>
            </Row>
          )}
          <Row label="Format version">{String(entry.v)}</Row>
        </tbody>
      </table>
    </section>
  );
}

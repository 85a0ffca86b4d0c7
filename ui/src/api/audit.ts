//! Keel's audit log API (`/ajax-api/3.0/keel/audit/...`): searching entries and reading one
//! (administrators), the signed checkpoint, the log's key and inclusion proofs (anyone signed in).
import { api, keel } from './client';

/** One audit entry as Keel records it (RFC 8785 canonical JSON, the exact bytes of its leaf). */
export interface AuditEntry {
  action: string;
  actor: { id?: string; kind: string; name: string };
  detail?: unknown;
  error_code?: string;
  event: string;
  outcome: string;
  request?: {
    body_sha256?: string;
    client?: string;
    id: string;
    method: string;
    path: string;
    user_agent?: string;
  };
  resource: { id?: string; kind: string };
  /** RFC 3339 UTC with milliseconds. */
  time: string;
  v: number;
  workspace?: string;
}

/** An entry with its leaf: `leaf_index` is absent until the sequencer appends it (within a second). */
export interface LoggedEntry {
  leaf_index?: number;
  entry: AuditEntry;
  /** The leaf's exact bytes, base64. */
  leaf: string;
}

/** What a search matches: every given field exactly; `since` inclusive and `until` exclusive (ms). */
export interface AuditFilter {
  actor?: string;
  action?: string;
  resource_kind?: string;
  resource_id?: string;
  outcome?: string;
  since?: number;
  until?: number;
}

/** The resource kinds entries name (the route table's, as Cedar spells them). */
export const RESOURCE_KINDS = [
  'Experiment',
  'Run',
  'LoggedModel',
  'Trace',
  'RegisteredModel',
  'ModelVersion',
  'Prompt',
  'Scorer',
  'Webhook',
  'Artifact',
  'Account',
  'Role',
  'Workspace',
  'Server',
  'Ui',
] as const;

export const OUTCOMES = ['success', 'failure', 'denied'] as const;

/** One page of matching entries, newest first. */
export const searchAudit = (filter: AuditFilter, pageToken: string | undefined, signal?: AbortSignal) =>
  api.get<{ entries?: LoggedEntry[]; next_page_token?: string }>(
    keel('audit/search'),
    { ...filter, page_token: pageToken, max_results: 50 },
    signal,
  );

/** The entry at leaf `index`, or `undefined` when the log has none there yet. */
export async function getEntry(index: number, signal?: AbortSignal): Promise<LoggedEntry | undefined> {
  const out = await api.get<{ entries?: LoggedEntry[] }>(keel('audit/entries'), { start: index, max_results: 1 }, signal);
  const found = out.entries?.[0];
  return found?.leaf_index === index ? found : undefined;
}

/** The latest signed checkpoint, a C2SP signed note (one is signed if none exists yet). */
export const getCheckpointNote = (signal?: AbortSignal) => api.raw(keel('audit/checkpoint'), signal).then((r) => r.text());

/** The log's note verifier key, `<name>+<key ID>+<key>`. */
export const getVerifierKey = (signal?: AbortSignal) => api.raw(keel('audit/key'), signal).then((r) => r.text());

export interface InclusionProof {
  leaf_index: number;
  tree_size: number;
  /** RFC 9162 inclusion proof, base64 SHA-256 hashes. */
  hashes: string[];
}

export const getInclusionProof = (leafIndex: number, treeSize: number, signal?: AbortSignal) =>
  api.get<InclusionProof>(keel('audit/proofs/inclusion'), { leaf_index: leafIndex, tree_size: treeSize }, signal);

//! Small pieces the traces list and the trace page share: state, status and span-type badges, and
//! a trace's duration, and the tags a user set (MLflow's own `mlflow.*` tags left out).
import { durationMs } from '../../api/traces';
import type { TraceInfo } from '../../api/types';
import { duration } from '../../lib/format';

export function StateBadge({ state }: { state: TraceInfo['state'] }) {
  const label = !state || state === 'STATE_UNSPECIFIED' ? 'unknown' : state === 'IN_PROGRESS' ? 'in progress' : state;
  const tone = state === 'OK' ? 'ok' : state === 'ERROR' ? 'error' : state === 'IN_PROGRESS' ? 'running' : '';
  return <span class={`badge ${tone}`}>{label}</span>;
}

/** A span's status: OK, ERROR or UNSET (the skeleton's names, or OTel's `STATUS_CODE_*`). */
export function SpanStatus({ status }: { status: string }) {
  const name = status.replace('STATUS_CODE_', '');
  const tone = name === 'OK' ? 'ok' : name === 'ERROR' ? 'error' : 'unset';
  return (
    <span class={`span-status ${tone}`} title={`Status: ${name}`}>
      <span class="dot" aria-hidden="true" />
      {name === 'ERROR' ? 'error' : name === 'OK' ? 'ok' : 'unset'}
    </span>
  );
}

const TYPE_GROUPS: Record<string, string> = {
  LLM: 'llm',
  CHAT_MODEL: 'llm',
  EMBEDDING: 'llm',
  RETRIEVER: 'retrieval',
  RERANKER: 'retrieval',
  MEMORY: 'retrieval',
  TOOL: 'tool',
  PARSER: 'tool',
  AGENT: 'agent',
  WORKFLOW: 'agent',
  TASK: 'agent',
  CHAIN: 'chain',
  GUARDRAIL: 'guard',
  EVALUATOR: 'guard',
};

/** A CSS class per family of span types (colours of the type dot and the timeline bar). */
export const typeClass = (type: string) => `t-${TYPE_GROUPS[type] ?? 'other'}`;

export function TypeBadge({ type }: { type: string }) {
  return (
    <span class={`badge span-type ${typeClass(type)}`}>
      <span class="dot" aria-hidden="true" />
      {type || 'UNKNOWN'}
    </span>
  );
}

/** The tags a user set, sorted by key. */
export function userTags(trace: TraceInfo): [string, string][] {
  return Object.entries(trace.tags ?? {})
    .filter(([k]) => !k.startsWith('mlflow.'))
    .sort(([a], [b]) => a.localeCompare(b));
}

/** A trace's duration; the info holds whole milliseconds, so 0 means under one. */
export function traceDuration(trace: TraceInfo): string {
  const ms = durationMs(trace.execution_duration);
  return ms === 0 ? '< 1 ms' : duration(ms);
}

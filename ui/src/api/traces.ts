//! Trace calls (search, info, the span skeleton, one span) and the decoding of what they return:
//! durations, token usage, assessment values and OpenTelemetry attribute values.
import { api, v3 } from './client';
import type { Assessment, OtelSpan, SpanRow, TraceInfo } from './types';

export interface TracePage {
  traces?: TraceInfo[];
  next_page_token?: string;
}

export interface TraceSearch {
  experimentId: string;
  filter?: string;
  /** One `order_by` clause, e.g. `timestamp_ms DESC`. */
  orderBy: string;
  pageToken?: string;
}

export const TRACE_PAGE_SIZE = 100;

export function searchTraces(search: TraceSearch, signal?: AbortSignal) {
  return api.post<TracePage>(
    v3('traces/search'),
    {
      locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: search.experimentId } }],
      filter: search.filter || undefined,
      max_results: TRACE_PAGE_SIZE,
      order_by: [search.orderBy],
      page_token: search.pageToken,
    },
    signal,
  );
}

/** The trace's info with its assessments (no spans). */
export async function getTraceInfo(traceId: string, signal?: AbortSignal): Promise<TraceInfo> {
  const body = await api.get<{ trace: { trace_info: TraceInfo } }>(v3(`traces/${encodeURIComponent(traceId)}`), undefined, signal);
  return body.trace.trace_info;
}

/** Keel's span skeleton: one compact row per span, root first, then by start time. */
export async function getSpanSkeleton(traceId: string, signal?: AbortSignal): Promise<SpanRow[]> {
  const body = await api.get<{ trace_id: string; spans: SpanRow[] }>(
    v3(`traces/${encodeURIComponent(traceId)}/spans`),
    undefined,
    signal,
  );
  return body.spans ?? [];
}

/** One span with all its content (inputs, outputs, attributes, events). */
export async function getSpan(traceId: string, spanId: string, signal?: AbortSignal): Promise<OtelSpan> {
  const body = await api.get<{ span: OtelSpan }>(
    v3(`traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}`),
    undefined,
    signal,
  );
  return body.span;
}

/** A protobuf JSON duration (`"1.500s"`, `"50s"`) in milliseconds. */
export function durationMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Number(match[1]) * 1000 : undefined;
}

export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
}

/** Token usage from a JSON string (trace metadata `mlflow.trace.tokenUsage`) or a decoded object. */
export function tokenUsage(raw: unknown): TokenUsage | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' && !Number.isNaN(Number(x)) ? Number(x) : undefined);
  const usage: TokenUsage = { input_tokens: n(v.input_tokens), output_tokens: n(v.output_tokens), total_tokens: n(v.total_tokens) };
  if (usage.total_tokens === undefined && (usage.input_tokens !== undefined || usage.output_tokens !== undefined)) {
    usage.total_tokens = (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0);
  }
  return usage.total_tokens === undefined ? undefined : usage;
}

export const traceTokenUsage = (info: TraceInfo) => tokenUsage(info.trace_metadata?.['mlflow.trace.tokenUsage']);

/** "1,234 tokens (1,000 in, 234 out)". */
export function tokenText(usage: TokenUsage): string {
  const f = (n: number) => n.toLocaleString();
  const parts = [usage.input_tokens !== undefined && `${f(usage.input_tokens)} in`, usage.output_tokens !== undefined && `${f(usage.output_tokens)} out`].filter(Boolean);
  return `${f(usage.total_tokens ?? 0)} tokens${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export type AssessmentKind = 'feedback' | 'expectation' | 'issue';

export const assessmentKind = (a: Assessment): AssessmentKind =>
  a.feedback ? 'feedback' : a.expectation ? 'expectation' : 'issue';

/** An assessment's value as a JSON value (expectations may carry it serialized). */
export function assessmentValue(a: Assessment): unknown {
  if (a.feedback) return a.feedback.value ?? null;
  if (a.expectation?.serialized_value) {
    try {
      return JSON.parse(a.expectation.serialized_value.value);
    } catch {
      return a.expectation.serialized_value.value;
    }
  }
  return a.expectation?.value ?? null;
}

/** A value in one line: strings bare, everything else as compact JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/** "correct: true", or the error of a feedback that failed. */
export function assessmentSummary(a: Assessment): string {
  const error = a.feedback?.error;
  if (error && (a.feedback?.value === undefined || a.feedback.value === null)) {
    return `${a.assessment_name}: error${error.error_code ? ` (${error.error_code})` : ''}`;
  }
  const text = valueText(assessmentValue(a));
  return `${a.assessment_name}: ${text.length > 40 ? `${text.slice(0, 39)}…` : text}`;
}

type AnyValue = Record<string, unknown>;

/** An OpenTelemetry `AnyValue` (protobuf JSON) as a plain JSON value. */
export function decodeAnyValue(value: AnyValue | undefined): unknown {
  if (!value) return null;
  if ('string_value' in value) return value.string_value;
  if ('bool_value' in value) return value.bool_value;
  if ('int_value' in value) {
    // int64 as text keeps digits beyond 2^53 that a number would round.
    const n = Number(value.int_value);
    return Number.isSafeInteger(n) || typeof value.int_value !== 'string' ? n : value.int_value;
  }
  if ('double_value' in value) return Number(value.double_value);
  if ('array_value' in value) {
    const values = (value.array_value as { values?: AnyValue[] } | undefined)?.values ?? [];
    return values.map(decodeAnyValue);
  }
  if ('kvlist_value' in value) {
    const values = (value.kvlist_value as { values?: { key: string; value: AnyValue }[] } | undefined)?.values ?? [];
    return Object.fromEntries(values.map((kv) => [kv.key, decodeAnyValue(kv.value)]));
  }
  if ('bytes_value' in value) return value.bytes_value;
  return null;
}

/** A span's attributes as a key → decoded value map, in the server's order. */
export function attributeMap(attributes: OtelSpan['attributes']): Map<string, unknown> {
  return new Map((attributes ?? []).map((a) => [a.key, decodeAnyValue(a.value)]));
}

/** Nanoseconds (a JSON number beyond 2^53 or a string) as milliseconds since the epoch. */
export const nanosToMs = (value: string | number | undefined) => (value === undefined ? undefined : Number(value) / 1e6);

//! Metric history for charts: the server-side downsampled bulk read (`get-history-bulk-interval`).
import { api, v2 } from './client';
import type { Metric } from './types';

/** Most runs one bulk-interval request may name (keel-core `MAX_RUNS_PER_INTERVAL_REQUEST`). */
export const MAX_RUNS_PER_REQUEST = 100;
/** Most points per run the server returns (keel-core `MAX_INTERVAL_RESULTS`). */
export const MAX_POINTS_PER_RUN = 2500;

/** One run's sampled history of one metric, ordered by step. */
export interface History {
  runId: string;
  steps: number[];
  /** Milliseconds since the epoch. */
  times: number[];
  values: number[];
}

export interface IntervalQuery {
  runIds: string[];
  key: string;
  /** Points per run, at most {@link MAX_POINTS_PER_RUN}. */
  maxResults: number;
  /** An inclusive step window (both ends or neither). */
  steps?: [number, number];
}

const toNumber = (v: number | string | undefined) => (v === undefined ? 0 : typeof v === 'number' ? v : Number(v));

/** A metric value as a number: MLflow sends NaN and ±Infinity as strings. */
export function metricValue(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

/**
 * The sampled histories of one metric for up to 100 runs (more are split into several calls),
 * one entry per requested run, in the order asked (empty when a run never logged the key).
 */
export async function getHistories(query: IntervalQuery, signal?: AbortSignal): Promise<History[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < query.runIds.length; i += MAX_RUNS_PER_REQUEST) {
    chunks.push(query.runIds.slice(i, i + MAX_RUNS_PER_REQUEST));
  }
  const answers = await Promise.all(
    chunks.map((runIds) =>
      api.get<{ metrics?: (Metric & { run_id: string })[] }>(
        v2('metrics/get-history-bulk-interval'),
        {
          run_ids: runIds,
          metric_key: query.key,
          max_results: Math.max(1, Math.min(MAX_POINTS_PER_RUN, Math.round(query.maxResults))),
          start_step: query.steps?.[0],
          end_step: query.steps?.[1],
        },
        signal,
      ),
    ),
  );
  const byRun = new Map<string, History>(
    query.runIds.map((runId) => [runId, { runId, steps: [], times: [], values: [] }]),
  );
  for (const answer of answers) {
    for (const point of answer.metrics ?? []) {
      const history = byRun.get(point.run_id);
      if (!history) continue;
      history.steps.push(toNumber(point.step));
      history.times.push(toNumber(point.timestamp));
      history.values.push(metricValue(point.value));
    }
  }
  return [...byRun.values()].map(sortedByStep);
}

/** The server orders by step already; this keeps the invariant if it ever does not. */
function sortedByStep(h: History): History {
  for (let i = 1; i < h.steps.length; i++) {
    if (h.steps[i] < h.steps[i - 1]) {
      const order = h.steps.map((_, j) => j).sort((a, b) => h.steps[a] - h.steps[b] || h.times[a] - h.times[b]);
      return {
        runId: h.runId,
        steps: order.map((j) => h.steps[j]),
        times: order.map((j) => h.times[j]),
        values: order.map((j) => h.values[j]),
      };
    }
  }
  return h;
}

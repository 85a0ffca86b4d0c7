//! Shapes sampled metric histories into chart columns: the x values of the chosen axis (step, wall
//! time, time since the run's first point), one y column per run aligned on a shared x, smoothing,
//! and the log scale's removal of values that are not positive.
import type { History } from '../../api/metrics';
import type { XAxis } from '../../lib/chartSettings';
import { ema } from '../../lib/smoothing';

export type Column = (number | null | undefined)[];

export interface ChartColumns {
  /** Ascending x values shared by every run. */
  xs: number[];
  /** Per run: its raw values at `xs` (undefined where the run has no point there). */
  raw: Column[];
  /** Per run: the steps of its points at `xs` (for the legend and for zoom windows). */
  steps: Column[];
}

/** A run's x values on the chosen axis. `origin` is its first timestamp (relative time). */
export function xValues(h: History, axis: XAxis, origin: number): number[] {
  if (axis === 'step') return h.steps;
  if (axis === 'wall') return h.times;
  return h.times.map((t) => (t - origin) / 1000);
}

/** Each run's first timestamp, the zero of the relative-time axis. */
export const origin = (h: History) => (h.times.length ? Math.min(...h.times) : 0);

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/** One run's points ordered by x (wall time is not always ordered like steps). */
function ordered(xs: number[], h: History): number[] {
  const idx = xs.map((_, i) => i);
  for (let i = 1; i < xs.length; i++) {
    if (xs[i] < xs[i - 1]) return idx.sort((a, b) => xs[a] - xs[b] || h.steps[a] - h.steps[b]);
  }
  return idx;
}

export function align(histories: History[], axis: XAxis, origins: number[]): ChartColumns {
  const perRun = histories.map((h, r) => {
    const x = xValues(h, axis, origins[r]);
    const order = ordered(x, h);
    return {
      x: order.map((i) => x[i]),
      y: order.map((i) => finite(h.values[i])),
      s: order.map((i) => h.steps[i]),
    };
  });
  if (perRun.length === 1) {
    const only = perRun[0];
    return { xs: only.x, raw: [only.y], steps: [only.s] };
  }
  const all = new Set<number>();
  for (const run of perRun) for (const x of run.x) all.add(x);
  const xs = [...all].sort((a, b) => a - b);
  const at = new Map<number, number>();
  xs.forEach((x, i) => at.set(x, i));
  const raw: Column[] = [];
  const steps: Column[] = [];
  for (const run of perRun) {
    const y: Column = new Array(xs.length);
    const s: Column = new Array(xs.length);
    run.x.forEach((x, i) => {
      const j = at.get(x) as number;
      y[j] = run.y[i];
      s[j] = run.s[i];
    });
    raw.push(y);
    steps.push(s);
  }
  return { xs, raw, steps };
}

/** The smoothed column of a raw one (gaps stay gaps). */
export function smooth(raw: Column, weight: number): Column {
  const out = ema(raw, weight) as Column;
  for (let i = 0; i < raw.length; i++) if (raw[i] === undefined) out[i] = undefined;
  return out;
}

/** For a log scale: values ≤ 0 become gaps. Returns the column and how many were removed. */
export function positiveOnly(column: Column): [Column, number] {
  let removed = 0;
  const out = column.map((v) => {
    if (v !== null && v !== undefined && v <= 0) {
      removed += 1;
      return null;
    }
    return v;
  });
  return [out, removed];
}

/** The nearest index to `i` where `column` has a value, within the run's own points. */
export function nearestDefined(column: Column, i: number): number | undefined {
  if (i < 0 || i >= column.length) return undefined;
  for (let d = 0; d < column.length; d++) {
    const left = i - d;
    const right = i + d;
    if (left >= 0 && column[left] !== undefined && column[left] !== null) return left;
    if (right < column.length && column[right] !== undefined && column[right] !== null) return right;
    if (left < 0 && right >= column.length) break;
  }
  return undefined;
}

/**
 * The step window `[lo, hi]` that covers x in `[min, max]` for every run, widened by one sampled
 * point on each side so a refetch at higher resolution fills the zoomed view edge to edge.
 */
export function stepWindow(cols: ChartColumns, min: number, max: number): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const steps of cols.steps) {
    let first = -1;
    let last = -1;
    for (let i = 0; i < cols.xs.length; i++) {
      if (steps[i] === undefined || steps[i] === null) continue;
      const x = cols.xs[i];
      if (x < min || first < 0) first = i;
      last = i;
      if (x > max) break;
    }
    if (first < 0) continue;
    for (let i = first; i <= last; i++) {
      const s = steps[i];
      if (s === undefined || s === null) continue;
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
    }
  }
  return lo <= hi ? [Math.floor(lo), Math.ceil(hi)] : undefined;
}

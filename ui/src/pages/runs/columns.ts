//! The runs table's columns: the fixed attributes, then the metric, param and tag keys found in the
//! loaded runs. Which ones show is the user's choice (kept per experiment in localStorage); by default
//! the attributes, the first metrics and params, and no tags.
import type { Run } from '../../api/types';
import type { Kind } from './order';

export interface Column {
  /** `metrics:m1`, `attributes:status`. */
  id: string;
  kind: Kind;
  key: string;
  label: string;
  width: number;
  numeric: boolean;
}

/** How many metric and param columns show before the user picks. */
export const DEFAULT_CAP = 12;

export const ATTRIBUTE_COLUMNS: Column[] = [
  { id: 'attributes:status', kind: 'attributes', key: 'status', label: 'Status', width: 104, numeric: false },
  { id: 'attributes:start_time', kind: 'attributes', key: 'start_time', label: 'Started', width: 150, numeric: false },
  { id: 'attributes:duration', kind: 'attributes', key: 'duration', label: 'Duration', width: 100, numeric: true },
  { id: 'attributes:user_id', kind: 'attributes', key: 'user_id', label: 'User', width: 120, numeric: false },
];

/** The always-shown name column's sort key. */
export const NAME_COLUMN: Column = { id: 'attributes:run_name', kind: 'attributes', key: 'run_name', label: 'Run', width: 260, numeric: false };

export interface Keys {
  metrics: string[];
  params: string[];
  tags: string[];
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** The metric, param and user tag keys of the runs (tags named `mlflow.*` are the client's own). */
export function discoverKeys(runs: Run[]): Keys {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    for (const m of run.data.metrics ?? []) metrics.add(m.key);
    for (const p of run.data.params ?? []) params.add(p.key);
    for (const t of run.data.tags ?? []) if (!t.key.startsWith('mlflow.')) tags.add(t.key);
  }
  return { metrics: [...metrics].sort(byName), params: [...params].sort(byName), tags: [...tags].sort(byName) };
}

export const keyColumn = (kind: 'metrics' | 'params' | 'tags', key: string): Column => ({
  id: `${kind}:${key}`,
  kind,
  key,
  label: key,
  width: kind === 'tags' ? 140 : 120,
  numeric: kind === 'metrics',
});

/** Every column the chooser offers, in display order. */
export function allColumns(keys: Keys): Column[] {
  return [
    ...ATTRIBUTE_COLUMNS,
    ...keys.metrics.map((k) => keyColumn('metrics', k)),
    ...keys.params.map((k) => keyColumn('params', k)),
    ...keys.tags.map((k) => keyColumn('tags', k)),
  ];
}

/** The default choice: attributes, up to DEFAULT_CAP metrics and params, no tags. */
export function defaultVisible(keys: Keys): Set<string> {
  return new Set([
    ...ATTRIBUTE_COLUMNS.map((c) => c.id),
    ...keys.metrics.slice(0, DEFAULT_CAP).map((k) => `metrics:${k}`),
    ...keys.params.slice(0, DEFAULT_CAP).map((k) => `params:${k}`),
  ]);
}

const storageKey = (experimentId: string) => `keel.runs.columns.${experimentId}`;

/** The user's saved choice of columns, or undefined for the default. */
export function loadChoice(experimentId: string): Set<string> | undefined {
  try {
    const raw = localStorage.getItem(storageKey(experimentId));
    const list = raw ? (JSON.parse(raw) as unknown) : undefined;
    return Array.isArray(list) ? new Set(list.filter((x): x is string => typeof x === 'string')) : undefined;
  } catch {
    return undefined;
  }
}

export function saveChoice(experimentId: string, choice: Set<string> | undefined): void {
  try {
    if (choice) localStorage.setItem(storageKey(experimentId), JSON.stringify([...choice]));
    else localStorage.removeItem(storageKey(experimentId));
  } catch {
    // Storage full or disabled: the choice lasts for this page only.
  }
}

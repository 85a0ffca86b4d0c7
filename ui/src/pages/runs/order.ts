//! The runs table's sort: a column and a direction, written as MLflow's `order_by` clause
//! (`metrics.\`m1\` DESC`, `attributes.start_time DESC`) and kept in the hash query as `?order=`.

export type Kind = 'attributes' | 'metrics' | 'params' | 'tags';

export interface Order {
  kind: Kind;
  key: string;
  ascending: boolean;
}

export const DEFAULT_ORDER: Order = { kind: 'attributes', key: 'start_time', ascending: false };

/** A key as the filter grammar quotes it: backticks, or double quotes when the key holds one. */
export function quoteKey(key: string): string {
  return key.includes('`') ? `"${key.replace(/"/g, '\\"')}"` : `\`${key}\``;
}

/** `metrics.\`m1\` ASC`; attributes stay bare (`attributes.run_name DESC`). */
export function formatOrder(order: Order): string {
  const key = order.kind === 'attributes' ? order.key : quoteKey(order.key);
  return `${order.kind}.${key} ${order.ascending ? 'ASC' : 'DESC'}`;
}

const CLAUSE = /^\s*(attributes|attribute|metrics|metric|params|param|tags|tag)\.(?:`([^`]*)`|"((?:[^"\\]|\\.)*)"|([\w.\-/ ]+?))(?:\s+(ASC|DESC))?\s*$/i;

/** Reads `?order=`; anything it cannot read falls back to the default (newest first). */
export function parseOrder(text: string | null | undefined): Order {
  if (!text) return DEFAULT_ORDER;
  const m = CLAUSE.exec(text);
  if (!m) return DEFAULT_ORDER;
  const prefix = m[1].toLowerCase();
  const kind: Kind = prefix.startsWith('attribute')
    ? 'attributes'
    : prefix.startsWith('metric')
      ? 'metrics'
      : prefix.startsWith('param')
        ? 'params'
        : 'tags';
  const key = m[2] ?? m[3]?.replace(/\\(.)/g, '$1') ?? m[4] ?? '';
  return { kind, key, ascending: (m[5] ?? 'ASC').toUpperCase() === 'ASC' };
}

export const sameColumn = (a: Order, kind: Kind, key: string) => a.kind === kind && a.key === key;

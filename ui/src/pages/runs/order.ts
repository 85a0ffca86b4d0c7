//! The runs table's sort: a column and a direction, written as MLflow's `order_by` clause
//! (`metrics.\`m1\` DESC`, `attributes.start_time DESC`) and kept in the hash query as `?order=`.
import { quotedKey } from '../../lib/filterLiteral';

export type Kind = 'attributes' | 'metrics' | 'params' | 'tags';

export interface Order {
  kind: Kind;
  key: string;
  ascending: boolean;
}

export const DEFAULT_ORDER: Order = { kind: 'attributes', key: 'start_time', ascending: false };

/**
 * A key as the search grammar quotes it: backticks, or double quotes when the key holds a backtick.
 * Neither form has an escape (`lib/filterLiteral.ts`), so the text between the quotes is the key.
 */
export const quoteKey = quotedKey;

/** `metrics.\`m1\` ASC`; attributes stay bare (`attributes.run_name DESC`). */
export function formatOrder(order: Order): string {
  const key = order.kind === 'attributes' ? order.key : quoteKey(order.key);
  return `${order.kind}.${key} ${order.ascending ? 'ASC' : 'DESC'}`;
}

// A quoted key runs to the last matching quote before the direction: quoted keys have no escapes,
// so `"a`"b" DESC` (a key with both a backtick and a `"`, which the server rejects) reads back as written.
const CLAUSE = /^\s*(attributes|attribute|metrics|metric|params|param|tags|tag)\.(?:`(.*)`|"(.*)"|([\w.\-/ ]+?))(?:\s+(ASC|DESC))?\s*$/is;

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
  const key = m[2] ?? m[3] ?? m[4] ?? '';
  return { kind, key, ascending: (m[5] ?? 'ASC').toUpperCase() === 'ASC' };
}

export const sameColumn = (a: Order, kind: Kind, key: string) => a.kind === kind && a.key === key;

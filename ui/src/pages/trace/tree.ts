//! The span tree's model: built once from the skeleton in O(n), and the flattened list of visible
//! rows that expanding and collapsing splice in place, so a 30,000-span trace stays cheap.
import type { SpanRow } from '../../api/types';

export const ID = 0;
export const PARENT = 1;
export const NAME = 2;
export const TYPE = 3;
export const STATUS = 4;
export const START = 5;
export const END = 6;

export interface SpanTree {
  rows: SpanRow[];
  /** Span ID → index into rows. */
  byId: Map<string, number>;
  /** Children of each span (indices), in start-time order. */
  children: number[][];
  /** Index of each span's parent, -1 for roots (and spans whose parent was never logged). */
  parent: Int32Array;
  depth: Int32Array;
  roots: number[];
  /** The trace's time range, microseconds since the epoch. */
  startUs: number;
  endUs: number;
}

const EMPTY: number[] = [];

export function buildTree(rows: SpanRow[]): SpanTree {
  const n = rows.length;
  const byId = new Map<string, number>();
  for (let i = 0; i < n; i++) byId.set(rows[i][ID], i);
  const children: number[][] = new Array(n);
  const parent = new Int32Array(n).fill(-1);
  const roots: number[] = [];
  let startUs = Infinity;
  let endUs = -Infinity;
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    const p = row[PARENT] === null ? undefined : byId.get(row[PARENT]);
    if (p === undefined || p === i) roots.push(i);
    else {
      parent[i] = p;
      (children[p] ??= []).push(i);
    }
    if (row[START] < startUs) startUs = row[START];
    const end = row[END] ?? row[START];
    if (end > endUs) endUs = end;
  }
  for (let i = 0; i < n; i++) if (!children[i]) children[i] = EMPTY;
  // The skeleton comes sorted by start time; sort only if a source did not.
  const byStart = (a: number, b: number) => rows[a][START] - rows[b][START];
  for (const list of children) if (!isSorted(list, rows)) list.sort(byStart);
  if (!isSorted(roots, rows)) roots.sort(byStart);
  const depth = new Int32Array(n);
  const reached = new Uint8Array(n);
  const descend = (from: number) => {
    const stack = [from];
    reached[from] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      for (const c of children[i]) {
        depth[c] = depth[i] + 1;
        reached[c] = 1;
        stack.push(c);
      }
    }
  };
  roots.forEach(descend);
  // Parents come from the exporting client: spans in a parent cycle are reachable from no root.
  // Each cycle is cut at its first span, which becomes a root.
  for (let i = 0; i < n; i++) {
    if (reached[i]) continue;
    const p = parent[i];
    children[p] = children[p].filter((c) => c !== i);
    parent[i] = -1;
    depth[i] = 0;
    roots.push(i);
    descend(i);
  }
  if (n === 0) startUs = endUs = 0;
  return { rows, byId, children, parent, depth, roots, startUs, endUs };
}

function isSorted(list: number[], rows: SpanRow[]): boolean {
  for (let i = 1; i < list.length; i++) if (rows[list[i - 1]][START] > rows[list[i]][START]) return false;
  return true;
}

/** Which spans are expanded, and the visible rows (span indices, in tree order). */
export interface TreeView {
  expanded: Uint8Array;
  visible: number[];
}

/** Roots plus up to `levels` levels below them expanded, breadth first, while at most `cap` rows show. */
export function initialView(tree: SpanTree, levels = 2, cap = 1000): TreeView {
  const expanded = new Uint8Array(tree.rows.length);
  let count = tree.roots.length;
  let level = tree.roots;
  for (let depth = 0; depth < levels && level.length; depth++) {
    const next: number[] = [];
    for (const i of level) {
      const kids = tree.children[i];
      if (!kids.length) continue;
      if (count + kids.length > cap) break;
      expanded[i] = 1;
      count += kids.length;
      for (const k of kids) next.push(k);
    }
    level = next;
  }
  return { expanded, visible: flatten(tree, expanded) };
}

/** The visible rows for an expansion state: a depth-first walk through expanded spans. */
export function flatten(tree: SpanTree, expanded: Uint8Array): number[] {
  const out: number[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const i = stack.pop()!;
    out.push(i);
    if (expanded[i]) {
      const kids = tree.children[i];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
    }
  }
  return out;
}

/** The rows under span `i` that are visible when it is expanded (its open descendants). */
function visibleBelow(tree: SpanTree, expanded: Uint8Array, i: number): number[] {
  const out: number[] = [];
  const stack = [...tree.children[i]].reverse();
  while (stack.length) {
    const j = stack.pop()!;
    out.push(j);
    if (expanded[j]) {
      const kids = tree.children[j];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
    }
  }
  return out;
}

/** Expands the span at visible position `pos`, splicing its children in after it. */
export function expandAt(tree: SpanTree, view: TreeView, pos: number): TreeView {
  const i = view.visible[pos];
  if (i === undefined || view.expanded[i] || !tree.children[i].length) return view;
  const expanded = view.expanded.slice();
  expanded[i] = 1;
  const visible = view.visible.slice(0, pos + 1).concat(visibleBelow(tree, expanded, i), view.visible.slice(pos + 1));
  return { expanded, visible };
}

/** Collapses the span at visible position `pos`, removing the rows below it. */
export function collapseAt(tree: SpanTree, view: TreeView, pos: number): TreeView {
  const i = view.visible[pos];
  if (i === undefined || !view.expanded[i]) return view;
  const expanded = view.expanded.slice();
  expanded[i] = 0;
  const depth = tree.depth[i];
  let end = pos + 1;
  while (end < view.visible.length && tree.depth[view.visible[end]] > depth) end++;
  const visible = view.visible.slice(0, pos + 1).concat(view.visible.slice(end));
  return { expanded, visible };
}

/** Expands every ancestor of span `i` so it shows; returns the view and the span's position. */
export function reveal(tree: SpanTree, view: TreeView, i: number): { view: TreeView; pos: number } {
  let hidden = false;
  for (let p = tree.parent[i]; p >= 0; p = tree.parent[p]) if (!view.expanded[p]) hidden = true;
  if (!hidden) return { view, pos: view.visible.indexOf(i) };
  const expanded = view.expanded.slice();
  for (let p = tree.parent[i]; p >= 0; p = tree.parent[p]) expanded[p] = 1;
  const visible = flatten(tree, expanded);
  return { view: { expanded, visible }, pos: visible.indexOf(i) };
}

/** Every span with children expanded (all rows visible), or only the roots. */
export function expandAll(tree: SpanTree): TreeView {
  const expanded = new Uint8Array(tree.rows.length);
  for (let i = 0; i < expanded.length; i++) if (tree.children[i].length) expanded[i] = 1;
  return { expanded, visible: flatten(tree, expanded) };
}

export function collapseAll(tree: SpanTree): TreeView {
  const expanded = new Uint8Array(tree.rows.length);
  return { expanded, visible: flatten(tree, expanded) };
}

//! Nested runs: children (tag `mlflow.parentRunId`) sit under their parent when the parent is loaded,
//! and the table shows them, indented, only while the parent is expanded. Orphans stay top-level.
import { runTag } from '../../api/runs';
import type { Run } from '../../api/types';

export interface RunTree {
  roots: Run[];
  children: Map<string, Run[]>;
}

export interface RowItem {
  run: Run;
  depth: number;
  childCount: number;
  expanded: boolean;
  /** The index of the parent's row, for ArrowLeft. */
  parentIndex: number;
}

/** Groups the runs under their loaded parents, keeping the server's order among siblings. */
export function buildTree(runs: Run[]): RunTree {
  const loaded = new Set(runs.map((r) => r.info.run_id));
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const run of runs) {
    const parent = runTag(run, 'mlflow.parentRunId');
    if (parent && parent !== run.info.run_id && loaded.has(parent)) {
      const list = children.get(parent);
      if (list) list.push(run);
      else children.set(parent, [run]);
    } else {
      roots.push(run);
    }
  }
  // Runs caught in a parent cycle are reachable from no root: show them top-level.
  const reached = new Set<string>();
  const walk = (run: Run) => {
    if (reached.has(run.info.run_id)) return;
    reached.add(run.info.run_id);
    for (const child of children.get(run.info.run_id) ?? []) walk(child);
  };
  roots.forEach(walk);
  if (reached.size < runs.length) {
    for (const run of runs) {
      if (!reached.has(run.info.run_id)) {
        roots.push(run);
        walk(run);
      }
    }
  }
  return { roots, children };
}

/** The rows on screen: every root, and the children of expanded parents right after them. */
export function visibleRows(tree: RunTree, expanded: Set<string>): RowItem[] {
  const rows: RowItem[] = [];
  const seen = new Set<string>();
  const add = (run: Run, depth: number, parentIndex: number) => {
    const id = run.info.run_id;
    if (seen.has(id)) return;
    seen.add(id);
    const kids = tree.children.get(id) ?? [];
    const open = kids.length > 0 && expanded.has(id);
    const index = rows.length;
    rows.push({ run, depth, childCount: kids.length, expanded: open, parentIndex });
    if (open) for (const child of kids) add(child, depth + 1, index);
  };
  for (const root of tree.roots) add(root, 0, -1);
  return rows;
}

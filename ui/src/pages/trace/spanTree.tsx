//! The span tree with its timeline: a virtual list of the visible rows (indent, expand toggle, name,
//! type, status, duration, and a bar placed by start and end within the trace). Arrow keys move,
//! Right/Left expand and collapse, Enter selects.
import { useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { VirtualList } from '../../components/VirtualList';
import { duration } from '../../lib/format';
import { SpanStatus, typeClass } from './badges';
import {
  collapseAll,
  collapseAt,
  END,
  expandAll,
  expandAt,
  ID,
  initialView,
  NAME,
  reveal,
  START,
  STATUS,
  TYPE,
  type SpanTree,
  type TreeView,
} from './tree';

const ROW_HEIGHT = 28;
const INDENT = 14;
const MAX_INDENT_LEVELS = 30;

export interface SpanTreeProps {
  tree: SpanTree;
  /** The selected span's index. */
  selected: number;
  onSelect: (index: number) => void;
}

/** Microseconds as a duration. */
export const durationUs = (us: number | null | undefined) => (us === null || us === undefined ? '—' : us < 1000 ? `${Math.round(us)} µs` : duration(us / 1000));

export function SpanTreeView({ tree, selected, onSelect }: SpanTreeProps) {
  const [view, setView] = useState<TreeView>(() => initialView(tree));
  const [cursor, setCursor] = useState(selected);
  const [scrollTo, setScrollTo] = useState<number>();

  // A selection made elsewhere (deep link, an assessment's span link) opens the span's ancestors.
  // The parent keys this component by trace, so `tree` never changes under it. A layout effect, so
  // it runs before the next key press (a deferred effect could move the cursor back afterwards).
  useLayoutEffect(() => {
    const { view: next, pos } = reveal(tree, view, selected);
    if (next !== view) setView(next);
    setScrollTo(pos);
    setCursor(selected);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const [find, setFind] = useState<{ text: string; note?: string }>({ text: '' });
  /** Selects the next span (by start time) whose name contains the text, or the previous one. */
  const findNext = (backwards: boolean) => {
    const needle = find.text.trim().toLowerCase();
    if (!needle) return;
    const n = tree.rows.length;
    let matches = 0;
    let target = -1;
    for (let k = 1; k <= n; k++) {
      const i = backwards ? (selected - k + n) % n : (selected + k) % n;
      if (tree.rows[i][NAME].toLowerCase().includes(needle)) {
        matches++;
        if (target < 0) target = i;
      }
    }
    if (target < 0) {
      setFind({ text: find.text, note: 'No span has that name' });
      return;
    }
    setFind({ text: find.text, note: `${matches.toLocaleString()} match${matches === 1 ? '' : 'es'}` });
    onSelect(target);
  };

  const total = Math.max(1, tree.endUs - tree.startUs);
  const cursorPos = useMemo(() => view.visible.indexOf(cursor), [view, cursor]);

  const moveTo = (pos: number) => {
    const clamped = Math.max(0, Math.min(view.visible.length - 1, pos));
    setCursor(view.visible[clamped]);
    setScrollTo(clamped);
  };

  const toggle = (pos: number) => {
    const i = view.visible[pos];
    setView(view.expanded[i] ? collapseAt(tree, view, pos) : expandAt(tree, view, pos));
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const pos = cursorPos < 0 ? 0 : cursorPos;
    const i = view.visible[pos];
    const page = 15;
    switch (e.key) {
      case 'ArrowDown':
        moveTo(pos + 1);
        break;
      case 'ArrowUp':
        moveTo(pos - 1);
        break;
      case 'PageDown':
        moveTo(pos + page);
        break;
      case 'PageUp':
        moveTo(pos - page);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(view.visible.length - 1);
        break;
      case 'ArrowRight':
        if (tree.children[i].length && !view.expanded[i]) setView(expandAt(tree, view, pos));
        else if (view.expanded[i]) moveTo(pos + 1);
        break;
      case 'ArrowLeft':
        if (view.expanded[i]) setView(collapseAt(tree, view, pos));
        else if (tree.parent[i] >= 0) moveTo(view.visible.indexOf(tree.parent[i]));
        break;
      case 'Enter':
      case ' ':
        onSelect(i);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const renderRow = (pos: number) => {
    const i = view.visible[pos];
    const row = tree.rows[i];
    const depth = tree.depth[i];
    const hasKids = tree.children[i].length > 0;
    const open = view.expanded[i] === 1;
    const start = row[START];
    const end = row[END];
    const left = ((start - tree.startUs) / total) * 100;
    const width = end === null ? 100 - left : ((end - start) / total) * 100;
    const classes = ['span-row', i === selected && 'selected', i === cursor && 'cursor', row[STATUS] === 'ERROR' && 'failed'];
    return (
      <div
        id={`span-row-${i}`}
        class={classes.filter(Boolean).join(' ')}
        role="treeitem"
        aria-level={depth + 1}
        aria-expanded={hasKids ? open : undefined}
        aria-selected={i === selected}
        data-span-id={row[ID]}
        data-span-name={row[NAME]}
        onClick={() => {
          setCursor(i);
          onSelect(i);
        }}
      >
        <div class="span-name" style={{ paddingLeft: `${Math.min(depth, MAX_INDENT_LEVELS) * INDENT + 4}px` }}>
          {hasKids ? (
            <span
              class="twisty"
              role="button"
              aria-label={open ? `Collapse ${row[NAME]}` : `Expand ${row[NAME]} (${tree.children[i].length} children)`}
              title={open ? 'Collapse' : `Expand (${tree.children[i].length.toLocaleString()} children)`}
              onClick={(e) => {
                e.stopPropagation();
                setCursor(i);
                toggle(pos);
              }}
            >
              {open ? '▾' : '▸'}
            </span>
          ) : (
            <span class="twisty leaf" aria-hidden="true" />
          )}
          <span class={`type-dot ${typeClass(row[TYPE])}`} title={row[TYPE]} aria-hidden="true" />
          <span class="label" title={row[NAME]}>
            {row[NAME]}
          </span>
          <span class="type-name">{row[TYPE]}</span>
          {hasKids && !open && <span class="kids">{tree.children[i].length.toLocaleString()}</span>}
        </div>
        <div class="span-stat">
          <SpanStatus status={row[STATUS]} />
        </div>
        <div class="span-dur">{durationUs(end === null ? null : end - start)}</div>
        <div class="span-track">
          <div class={`span-bar ${typeClass(row[TYPE])}`} style={{ left: `${left}%`, width: `max(2px, ${width}%)` }} />
        </div>
      </div>
    );
  };

  return (
    <div class="span-tree-pane">
      <div class="toolbar tree-toolbar">
        <input
          class="find"
          type="search"
          data-search
          aria-label="Find a span by name"
          placeholder="Find a span by name (Enter: next)"
          value={find.text}
          onInput={(e) => setFind({ text: (e.target as HTMLInputElement).value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              findNext(e.shiftKey);
            }
          }}
        />
        {find.note && (
          <span class="muted find-note" role="status">
            {find.note}
          </span>
        )}
        <span class="muted">
          {tree.rows.length.toLocaleString()} span{tree.rows.length === 1 ? '' : 's'}
          {view.visible.length < tree.rows.length ? ` · ${view.visible.length.toLocaleString()} shown` : ''}
        </span>
        <span class="spacer" />
        <button type="button" class="small" onClick={() => setView(expandAll(tree))} disabled={view.visible.length === tree.rows.length}>
          Expand all
        </button>
        <button type="button" class="small" onClick={() => setView(collapseAll(tree))}>
          Collapse all
        </button>
      </div>
      <div class="span-head" aria-hidden="true">
        <div>Span</div>
        <div>Status</div>
        <div class="span-dur">Duration</div>
        <div class="span-track scale">
          {[0, 0.25, 0.5].map((f) => (
            <span key={f} style={{ left: `${f * 100}%` }}>
              {durationUs(total * f)}
            </span>
          ))}
          <span class="end">{durationUs(total)}</span>
        </div>
      </div>
      <div
        class="span-tree"
        role="tree"
        aria-label="Spans"
        tabIndex={0}
        aria-activedescendant={cursorPos >= 0 ? `span-row-${cursor}` : undefined}
        onKeyDown={onKeyDown}
      >
        <VirtualList
          count={view.visible.length}
          rowHeight={ROW_HEIGHT}
          renderRow={renderRow}
          scrollToIndex={scrollTo}
          class="span-vlist"
          // A short tree takes only the room it needs; a long one fills the viewport and scrolls.
          style={{ height: `min(${Math.max(view.visible.length, 6) * ROW_HEIGHT + 2}px, var(--tree-height))` }}
        />
      </div>
    </div>
  );
}

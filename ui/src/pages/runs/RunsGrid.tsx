//! The runs table: a div grid (role=treegrid) whose body is a VirtualList, so 10,000 runs keep a few
//! dozen rows in the DOM. Sortable headers, row checkboxes, expandable parent runs, and a roving
//! focus: arrow keys move it, Enter opens the run, Space selects it, ←/→ fold and unfold children.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { runName } from '../../api/runs';
import { VirtualList } from '../../components/VirtualList';
import { href, navigate } from '../../router';
import { Cell } from './cells';
import { type Column, NAME_COLUMN } from './columns';
import { type Kind, type Order, sameColumn } from './order';
import type { RowItem } from './tree';

export const ROW_HEIGHT = 36;
const SELECT_WIDTH = 40;
/** The two header rows (group names, column names) and the border under them. */
const HEAD_HEIGHT = 24 + 36 + 1;
const GROUP_LABELS: Record<Kind, string> = { attributes: '', metrics: 'Metrics', params: 'Params', tags: 'Tags' };

interface Props {
  rows: RowItem[];
  columns: Column[];
  order: Order;
  selected: Set<string>;
  stale: boolean;
  onSort: (column: Column) => void;
  onToggleSelect: (runId: string) => void;
  onToggleAll: () => void;
  onToggleExpand: (runId: string) => void;
  onEndReached: () => void;
  /** How many runs are loaded (rows hide collapsed children, so their count may not grow). */
  loaded: number;
  /** Why a column cannot be sorted right now (the duration while pages remain), by column ID. */
  unsortable?: Record<string, string>;
}

const runHref = (row: RowItem) => href(['experiments', row.run.info.experiment_id, 'runs', row.run.info.run_id]);

export function RunsGrid(props: Props) {
  const { rows, columns, order, selected } = props;
  const gridRef = useRef<HTMLDivElement>(null);
  const headRef = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState(0);
  const [scrollTo, setScrollTo] = useState<number>();
  const focusPending = useRef(false);

  const template = `${SELECT_WIDTH}px ${NAME_COLUMN.width}px ${columns.map((c) => `${c.width}px`).join(' ')} 1fr`;
  const minWidth = SELECT_WIDTH + NAME_COLUMN.width + columns.reduce((sum, c) => sum + c.width, 0);
  const rowStyle = { gridTemplateColumns: template, minWidth: `${minWidth}px` };
  const current = Math.min(active, Math.max(0, rows.length - 1));
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = gridRef.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Consecutive columns of one kind share a group heading (Metrics, Params, Tags).
  const groups: { kind: Kind; count: number }[] = [];
  const groupStarts = new Set<string>();
  for (const column of columns) {
    const last = groups[groups.length - 1];
    if (last && last.kind === column.kind) last.count += 1;
    else {
      groups.push({ kind: column.kind, count: 1 });
      if (column.kind !== 'attributes') groupStarts.add(column.id);
    }
  }

  // The header scrolls sideways with the body.
  useEffect(() => {
    const body = gridRef.current?.querySelector<HTMLElement>('.vlist');
    const head = headRef.current;
    if (!body || !head) return;
    const sync = () => {
      head.scrollLeft = body.scrollLeft;
    };
    body.addEventListener('scroll', sync, { passive: true });
    return () => body.removeEventListener('scroll', sync);
  }, []);

  const moveTo = (index: number) => {
    const next = Math.max(0, Math.min(rows.length - 1, index));
    focusPending.current = true;
    setActive(next);
    setScrollTo(next);
    // The row may already be on screen and keep its element: focus it now.
    gridRef.current?.querySelector<HTMLElement>(`[role=row][data-index="${next}"]`)?.focus({ preventScroll: true });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    const onRow = target.getAttribute('role') === 'row';
    // Keys act on the row that has focus (a click may have moved it), else the active row.
    const focused = target.closest<HTMLElement>('[role=row][data-index]');
    const at = focused ? Number(focused.dataset.index) : current;
    const row = rows[at];
    const page = Math.max(1, Math.floor((gridRef.current?.querySelector('.vlist')?.clientHeight ?? 400) / ROW_HEIGHT) - 1);
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(at + 1),
      ArrowUp: () => moveTo(at - 1),
      PageDown: () => moveTo(at + page),
      PageUp: () => moveTo(at - page),
      Home: () => moveTo(0),
      End: () => moveTo(rows.length - 1),
    };
    if (onRow && row) {
      keys.Enter = () => navigate(runHref(row));
      keys[' '] = () => props.onToggleSelect(row.run.info.run_id);
      keys.ArrowRight = () => {
        if (row.childCount > 0 && !row.expanded) props.onToggleExpand(row.run.info.run_id);
        else if (row.expanded) moveTo(at + 1);
      };
      keys.ArrowLeft = () => {
        if (row.expanded) props.onToggleExpand(row.run.info.run_id);
        else if (row.parentIndex >= 0) moveTo(row.parentIndex);
      };
    }
    const action = keys[e.key];
    if (!action || e.altKey || e.ctrlKey || e.metaKey || rows.length === 0) return;
    e.preventDefault();
    action();
  };

  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.run.info.run_id));
  const someSelected = !allSelected && rows.some((r) => selected.has(r.run.info.run_id));

  const renderRow = (index: number) => {
    const row = rows[index];
    if (!row) return null;
    const id = row.run.info.run_id;
    const name = runName(row.run);
    const isSelected = selected.has(id);
    return (
      <div
        role="row"
        class={`runs-row${isSelected ? ' selected' : ''}`}
        style={rowStyle}
        data-index={index}
        data-run-id={id}
        data-run-name={name}
        aria-rowindex={index + 3}
        aria-selected={isSelected}
        aria-expanded={row.childCount > 0 ? row.expanded : undefined}
        aria-level={row.depth + 1}
        tabIndex={index === current ? 0 : -1}
        ref={
          index === current && focusPending.current
            ? (el: HTMLDivElement | null) => {
                if (el && focusPending.current) {
                  focusPending.current = false;
                  el.focus({ preventScroll: true });
                }
              }
            : undefined
        }
        onFocus={() => index !== current && setActive(index)}
      >
        <div role="gridcell" class="cell select sticky">
          <input
            type="checkbox"
            tabIndex={-1}
            checked={isSelected}
            aria-label={`Select ${name}`}
            onChange={() => props.onToggleSelect(id)}
          />
        </div>
        <div role="gridcell" class="cell name sticky" style={{ paddingLeft: `${6 + row.depth * 20}px` }}>
          {row.childCount > 0 ? (
            <button
              type="button"
              class="twisty"
              tabIndex={-1}
              aria-expanded={row.expanded}
              aria-label={`${row.expanded ? 'Hide' : 'Show'} ${row.childCount} child runs of ${name}`}
              title={`${row.expanded ? 'Hide' : 'Show'} ${row.childCount} child run${row.childCount === 1 ? '' : 's'}`}
              onClick={() => props.onToggleExpand(id)}
            >
              <span aria-hidden="true">{row.expanded ? '▾' : '▸'}</span>
            </button>
          ) : (
            <span class="twisty-space" />
          )}
          <a href={runHref(row)} tabIndex={-1} title={name}>
            {name}
          </a>
          {row.childCount > 0 && <span class="child-count">{row.childCount}</span>}
        </div>
        {columns.map((column) => (
          <div
            key={column.id}
            role="gridcell"
            class={`cell${column.numeric ? ' num' : ''}${groupStarts.has(column.id) ? ' group-start' : ''}`}
            data-column={column.id}
          >
            <Cell run={row.run} column={column} />
          </div>
        ))}
      </div>
    );
  };

  const header = (column: Column, sticky: boolean) => {
    const sorted = sameColumn(order, column.kind, column.key);
    const reason = props.unsortable?.[column.id];
    const prefix = column.kind === 'attributes' ? '' : column.kind === 'metrics' ? 'metric' : column.kind === 'params' ? 'param' : 'tag';
    return (
      <div
        key={column.id}
        role="columnheader"
        class={`cell head${sticky ? ' sticky name' : ''}${column.numeric ? ' num' : ''}${sorted ? ' sorted' : ''}${groupStarts.has(column.id) ? ' group-start' : ''}`}
        aria-sort={sorted ? (order.ascending ? 'ascending' : 'descending') : undefined}
        data-column={column.id}
      >
        <button
          type="button"
          class="sort"
          disabled={!!reason}
          title={reason ?? `Sort by ${prefix ? `${prefix} ` : ''}${column.label}${sorted ? (order.ascending ? ' (descending next)' : ' (ascending next)') : ''}`}
          onClick={() => props.onSort(column)}
        >
          <span class="label">{column.label}</span>
          <span class="arrow" aria-hidden="true">
            {sorted ? (order.ascending ? '↑' : '↓') : ''}
          </span>
        </button>
      </div>
    );
  };

  // The body's height follows its rows up to the viewport's, plus room for a sideways scrollbar.
  const sideways = minWidth > width;
  const fit = HEAD_HEIGHT + rows.length * ROW_HEIGHT + 2 + (sideways ? 16 : 0);
  return (
    <div
      ref={gridRef}
      class={`runs-grid${props.stale ? ' stale' : ''}`}
      style={{ height: `min(${fit}px, max(340px, calc(100vh - 300px)))` }}
      role="treegrid"
      aria-label="Runs"
      aria-rowcount={rows.length + 2}
      aria-multiselectable="true"
      aria-busy={props.stale}
    >
      <div class="runs-head" ref={headRef} role="rowgroup">
        <div role="row" class="runs-row groups" style={rowStyle} aria-rowindex={1}>
          <div role="columnheader" class="cell sticky lead" style={{ gridColumn: 'span 2' }} aria-colspan={2} />
          {groups.map((g) => (
            <div
              key={g.kind}
              role="columnheader"
              class={`cell group ${g.kind}`}
              style={{ gridColumn: `span ${g.count}` }}
              aria-colspan={g.count}
            >
              {GROUP_LABELS[g.kind]}
            </div>
          ))}
        </div>
        <div role="row" class="runs-row head" style={rowStyle} aria-rowindex={2}>
          <div role="columnheader" class="cell select sticky head">
            <input
              type="checkbox"
              aria-label="Select all shown runs"
              title="Select all shown runs"
              checked={allSelected}
              ref={(el: HTMLInputElement | null) => {
                if (el) el.indeterminate = someSelected;
              }}
              onChange={props.onToggleAll}
            />
          </div>
          {header(NAME_COLUMN, true)}
          {columns.map((c) => header(c, false))}
        </div>
      </div>
      <VirtualList
        class="runs-body"
        role="rowgroup"
        count={rows.length}
        rowHeight={ROW_HEIGHT}
        renderRow={renderRow}
        onEndReached={props.onEndReached}
        loadedKey={props.loaded}
        scrollToIndex={scrollTo}
        onKeyDown={onKeyDown}
      />
    </div>
  );
}

//! An experiment's runs table: MLflow filter box, server-side sort by any column, a column chooser,
//! nested runs under their parents, virtual scrolling over pages of 1,000 runs, and selection for
//! the compare page. The filter and the sort live in the hash query (`?filter=`, `?order=`).
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { Experiment, Run } from '../api/types';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { location, navigate, setQueryParam } from '../router';
import { compareHref, MAX_COMPARED_RUNS } from '../routes';
import '../styles/runs.css';
import { runDuration } from './runs/cells';
import { ColumnChooser } from './runs/ColumnChooser';
import { type Column, allColumns, defaultVisible, discoverKeys, loadChoice, saveChoice } from './runs/columns';
import { DEFAULT_ORDER, formatOrder, type Order, parseOrder, sameColumn } from './runs/order';
import { RunsGrid } from './runs/RunsGrid';
import { buildTree, visibleRows } from './runs/tree';
import { useRunPages } from './runs/useRunPages';

const FILTER_HELP =
  "MLflow search syntax, e.g. metrics.loss < 0.5 AND params.lr = '0.01' AND tags.team = 'vision' AND attributes.status = 'FINISHED'. Press Enter to search.";

export function RunsTab({ experiment }: { experiment: Experiment }) {
  // One table per experiment: selection, expansion and columns do not carry over.
  return <RunsTable key={experiment.experiment_id} experiment={experiment} />;
}

/** The server's order for a sort; the duration has none, so it sorts the loaded runs here. */
const serverOrder = (order: Order): string[] =>
  order.kind === 'attributes' && order.key === 'duration' ? [] : [formatOrder(order)];

function sortByDuration(runs: Run[], ascending: boolean): Run[] {
  const sign = ascending ? 1 : -1;
  return [...runs].sort((a, b) => {
    const da = runDuration(a);
    const db = runDuration(b);
    if (da === undefined || db === undefined) return da === db ? 0 : da === undefined ? 1 : -1;
    return sign * (da - db);
  });
}

function firstRunSnippet(name: string): string {
  return `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.set_experiment(${JSON.stringify(name)})
with mlflow.start_run(run_name="first-run"):
    mlflow.log_param("lr", 0.01)
    mlflow.log_metric("loss", 0.42)`;
}

function RunsTable({ experiment }: { experiment: Experiment }) {
  const experimentId = experiment.experiment_id;
  const query = location.value.query;
  const filter = query.get('filter') ?? '';
  const orderText = query.get('order') ?? '';
  const order = useMemo(() => parseOrder(orderText), [orderText]);
  const orderBy = useMemo(() => serverOrder(order), [order]);
  const pages = useRunPages(experimentId, filter, orderBy);

  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const [choice, setChoice] = useState(() => loadChoice(experimentId));
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const [selected, setSelected] = useState<Set<string>>(() => new Set());

  const byDuration = order.kind === 'attributes' && order.key === 'duration';
  const runs = useMemo(() => (byDuration ? sortByDuration(pages.runs, order.ascending) : pages.runs), [pages.runs, byDuration, order.ascending]);
  const keys = useMemo(() => discoverKeys(pages.runs), [pages.runs]);
  const visible = useMemo(() => choice ?? defaultVisible(keys), [choice, keys]);
  const columns = useMemo(() => allColumns(keys).filter((c) => visible.has(c.id)), [keys, visible]);
  const tree = useMemo(() => buildTree(runs), [runs]);
  const rows = useMemo(() => visibleRows(tree, expanded), [tree, expanded]);

  const submit = (e: Event) => {
    e.preventDefault();
    const next = text.trim();
    if (next === filter) pages.reload();
    else setQueryParam('filter', next || undefined);
  };

  const sort = (column: Column) => {
    const ascendingFirst = column.kind === 'params' || column.kind === 'tags' || ['run_name', 'user_id', 'status'].includes(column.key);
    const next: Order = sameColumn(order, column.kind, column.key)
      ? { ...order, ascending: !order.ascending }
      : { kind: column.kind, key: column.key, ascending: ascendingFirst };
    const isDefault = sameColumn(DEFAULT_ORDER, next.kind, next.key) && next.ascending === DEFAULT_ORDER.ascending;
    setQueryParam('order', isDefault ? undefined : formatOrder(next));
  };

  const chooseColumns = (next: Set<string> | undefined) => {
    setChoice(next);
    saveChoice(experimentId, next);
  };

  const toggleSelect = useCallback((runId: string) => {
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(runId)) next.delete(runId);
      else next.add(runId);
      return next;
    });
  }, []);

  const toggleAll = () => {
    const ids = rows.map((r) => r.run.info.run_id);
    const all = ids.length > 0 && ids.every((id) => selected.has(id));
    setSelected(all ? new Set() : new Set([...selected, ...ids]));
  };

  const toggleExpand = useCallback((runId: string) => {
    setExpanded((s) => {
      const next = new Set(s);
      if (next.has(runId)) next.delete(runId);
      else next.add(runId);
      return next;
    });
  }, []);

  // A sort by a column the chooser hid is named in the status line instead of its header.
  const hiddenSort =
    orderText !== '' && !sameColumn(order, 'attributes', 'run_name') && !columns.some((c) => sameColumn(order, c.kind, c.key));
  const firstLoad = pages.loading && pages.runs.length === 0 && !pages.error;
  const empty = !pages.loading && !pages.error && pages.runs.length === 0;
  const count = pages.runs.length;
  const unsortable =
    pages.done || byDuration
      ? undefined
      : { 'attributes:duration': 'Keel sorts runs on the server, which has no duration order: scroll until all runs are loaded to sort by duration.' };

  return (
    <div class="runs-tab">
      <div class="toolbar runs-toolbar">
        <form role="search" class="runs-search" onSubmit={submit}>
          <input
            class="search"
            type="search"
            data-search
            spellcheck={false}
            autocomplete="off"
            placeholder="metrics.loss < 0.5 AND params.lr = '0.01'  (press / to focus, Enter to search)"
            aria-label="Filter runs"
            title={FILTER_HELP}
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Search</button>
          {filter && (
            <button type="button" class="ghost" onClick={() => setQueryParam('filter', undefined)}>
              Clear
            </button>
          )}
        </form>
        <ColumnChooser keys={keys} visible={visible} onChange={chooseColumns} />
      </div>
      <div class="runs-status">
        {!firstLoad && !pages.error && !empty && (
          <span
            class="run-count"
            data-loaded={count}
            data-complete={pages.done ? 'true' : 'false'}
            data-filter={pages.loadedFor.filter}
            data-order={pages.loadedFor.order}
            title={pages.done ? undefined : 'More runs load as you scroll down'}
          >
            {pages.done
              ? `${count.toLocaleString()} ${count === 1 ? 'run' : 'runs'}${filter ? ' match' : ''}`
              : `${count.toLocaleString()} of many runs`}
          </span>
        )}
        {pages.loading && !firstLoad && <span class="muted">Loading…</span>}
        {hiddenSort && (
          <span class="muted">
            Sorted by {order.kind.replace(/s$/, '')} <code>{order.key}</code> {order.ascending ? '↑' : '↓'}
            <button type="button" class="link" onClick={() => setQueryParam('order', undefined)}>
              Reset
            </button>
          </span>
        )}
        <span class="spacer" />
        {selected.size > 0 && (
          <>
            <span class="muted">{selected.size.toLocaleString()} selected</span>
            <button type="button" class="link" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
            <button
              type="button"
              class="primary"
              disabled={selected.size < 2 || selected.size > MAX_COMPARED_RUNS}
              title={
                selected.size < 2
                  ? 'Select at least two runs to compare'
                  : selected.size > MAX_COMPARED_RUNS
                    ? `Compare at most ${MAX_COMPARED_RUNS} runs at a time`
                    : 'Compare the selected runs'
              }
              onClick={() => navigate(compareHref([...selected], [experimentId]))}
            >
              Compare
            </button>
          </>
        )}
      </div>
      {pages.error && <ErrorBanner error={pages.error} onRetry={pages.reload} />}
      {firstLoad ? (
        <Loading label="Loading runs…" />
      ) : empty ? (
        filter ? (
          <EmptyState title="No run matches this filter">
            <p>
              Nothing in this experiment matches <code>{filter}</code>.
            </p>
            <p>
              Compare metrics with numbers (<code>metrics.loss &lt; 0.5</code>), params and tags with quoted strings (
              <code>params.lr = '0.01'</code>, <code>tags.team LIKE 'vis%'</code>), and join conditions with{' '}
              <code>AND</code>.
            </p>
            <button type="button" onClick={() => setQueryParam('filter', undefined)}>
              Clear the filter
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No runs in this experiment yet">
            <p>Log one with the MLflow client; it shows up here when you reload:</p>
            <Snippet code={firstRunSnippet(experiment.name)} />
          </EmptyState>
        )
      ) : (
        rows.length > 0 && (
          <RunsGrid
            rows={rows}
            columns={columns}
            order={order}
            selected={selected}
            stale={pages.stale}
            onSort={sort}
            onToggleSelect={toggleSelect}
            onToggleAll={toggleAll}
            onToggleExpand={toggleExpand}
            onEndReached={pages.loadMore}
            loaded={pages.runs.length}
            unsortable={unsortable}
          />
        )
      )}
      {!firstLoad && rows.length > 0 && (
        <p class="runs-hint muted">
          <kbd>↑</kbd> <kbd>↓</kbd> move between runs, <kbd>Enter</kbd> opens one, <kbd>Space</kbd> selects it, <kbd>→</kbd>{' '}
          <kbd>←</kbd> show and hide child runs.
        </p>
      )}
    </div>
  );
}

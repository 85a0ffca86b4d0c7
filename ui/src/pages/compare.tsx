//! Compare runs (`#/compare-runs?runs=["id",…]&experiments=["1"]`): the runs with their colours,
//! overlaid metric charts with a shared cursor, a parameter diff, the latest metrics side by side
//! and a scatter plot of one parameter or metric against a metric.
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { getExperiment } from '../api/experiments';
import { getRun, runName } from '../api/runs';
import type { Run } from '../api/types';
import { ChartControls } from '../components/ChartControls';
import { MetricChart, type ChartRun } from '../components/MetricChart';
import { RunStatusBadge } from '../components/RunStatus';
import { ScatterPlot, type ScatterPoint } from '../components/ScatterPlot';
import { EmptyState, ErrorBanner, Loading } from '../components/Status';
import { metricValue } from '../api/metrics';
import { runColor } from '../lib/chartColors';
import { num } from '../lib/format';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href, location } from '../router';
import { MAX_COMPARED_RUNS } from '../routes';
import '../styles/charts.css';
import '../styles/compare.css';

/** The IDs of a JSON array in the query (`runs=["a","b"]`): [] when absent, undefined when not valid. */
export function parseIdList(text: string | null): string[] | undefined {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return undefined;
    const ids = value.map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '')).filter(Boolean);
    return [...new Set(ids)];
  } catch {
    return undefined;
  }
}

interface Loaded {
  runs: Run[];
  missing: string[];
  failed?: Error;
}

async function loadRuns(ids: string[], signal: AbortSignal): Promise<Loaded> {
  const results = await Promise.allSettled(ids.map((id) => getRun(id, signal)));
  const out: Loaded = { runs: [], missing: [] };
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') out.runs.push(r.value);
    else if (r.reason instanceof ApiError && (r.reason.status === 404 || r.reason.code === 'RESOURCE_DOES_NOT_EXIST')) {
      out.missing.push(ids[i]);
    } else if ((r.reason as Error).name !== 'AbortError') out.failed ??= r.reason as Error;
  });
  return out;
}

export default function ComparePage() {
  const query = location.value.query;
  const parsed = parseIdList(query.get('runs'));
  const runIds = parsed?.length ? parsed.slice(0, MAX_COMPARED_RUNS) : undefined;
  const dropped = (parsed?.length ?? 0) - (runIds?.length ?? 0);
  const experimentIds = parseIdList(query.get('experiments')) ?? [];
  const loaded = useAsync((signal) => (runIds ? loadRuns(runIds, signal) : Promise.resolve(undefined)), [runIds?.join(',')]);
  const firstExperiment = experimentIds.length === 1 ? experimentIds[0] : undefined;
  const experiment = useAsync(
    (signal) => (firstExperiment ? getExperiment(firstExperiment, signal) : Promise.resolve(undefined)),
    [firstExperiment],
  );
  const runs = loaded.data?.runs ?? [];
  useTitle(runIds ? `Compare ${runIds.length} runs` : 'Compare runs', experiment.data?.name);

  const crumbs = (
    <div class="breadcrumbs">
      <a href="#/">Experiments</a>
      {firstExperiment && <a href={href(['experiments', firstExperiment])}>{experiment.data?.name ?? firstExperiment}</a>}
      <span>Compare</span>
    </div>
  );

  if (!runIds) {
    return (
      <section>
        {crumbs}
        <div class="page-header">
          <h1>Compare runs</h1>
        </div>
        <EmptyState title={parsed ? 'No runs selected' : 'The run list in this link is not valid'}>
          <p>
            Open an experiment, tick the checkboxes of two or more runs in its runs table and press <strong>Compare</strong>.
          </p>
          <p>
            A compare link looks like <code>#/compare-runs?runs=["&lt;run id&gt;","&lt;run id&gt;"]</code>.
          </p>
          <p>
            <a href={firstExperiment ? href(['experiments', firstExperiment]) : '#/experiments'}>
              {firstExperiment ? 'Back to the experiment' : 'Go to the experiments'}
            </a>
          </p>
        </EmptyState>
      </section>
    );
  }

  return (
    <section class="compare">
      {crumbs}
      <div class="page-header">
        <h1>Compare {runIds.length} runs</h1>
      </div>
      {loaded.error && <ErrorBanner error={loaded.error} onRetry={loaded.reload} />}
      {loaded.data?.failed && <ErrorBanner error={loaded.data.failed} onRetry={loaded.reload} />}
      {dropped > 0 && (
        <div class="banner" role="status">
          Showing the first {MAX_COMPARED_RUNS} runs; {dropped} more in the link are left out.
        </div>
      )}
      {loaded.data && loaded.data.missing.length > 0 && (
        <div class="banner error" role="alert">
          <strong>RESOURCE_DOES_NOT_EXIST: </strong>
          {loaded.data.missing.length === 1 ? 'This run was not found' : `These ${loaded.data.missing.length} runs were not found`}
          {': '}
          {loaded.data.missing.map((id, i) => (
            <span key={id}>
              {i > 0 && ', '}
              <code>{id}</code>
            </span>
          ))}
          {loaded.data.missing.length === 1 ? '. It may have been deleted' : '. They may have been deleted'}, or the link is
          mistyped.
        </div>
      )}
      {loaded.loading && !loaded.data ? (
        <Loading label="Loading runs…" />
      ) : runs.length === 0 ? (
        !loaded.error && (
          <EmptyState title="Nothing to compare">
            <p>None of the runs in this link exist. Select runs again in an experiment's runs table.</p>
          </EmptyState>
        )
      ) : (
        <CompareBody runs={runs} />
      )}
    </section>
  );
}

interface Colored {
  run: Run;
  id: string;
  name: string;
  color: string;
  link: string;
}

function CompareBody({ runs }: { runs: Run[] }) {
  const colored: Colored[] = runs.map((run, i) => ({
    run,
    id: run.info.run_id,
    name: runName(run),
    color: runColor(i),
    link: href(['experiments', run.info.experiment_id, 'runs', run.info.run_id]),
  }));
  return (
    <>
      <ul class="compare-runs" aria-label="Compared runs">
        {colored.map((c) => (
          <li key={c.id} data-run={c.id}>
            <span class="swatch" style={{ background: c.color }} />
            <a href={c.link}>{c.name}</a>
            <RunStatusBadge status={c.run.info.status} />
          </li>
        ))}
      </ul>
      <nav class="compare-sections" aria-label="Sections">
        <button type="button" class="link" data-target="compare-charts" onClick={jump}>
          Charts
        </button>
        <button type="button" class="link" data-target="compare-params" onClick={jump}>
          Parameters
        </button>
        <button type="button" class="link" data-target="compare-metrics" onClick={jump}>
          Metrics
        </button>
        <button type="button" class="link" data-target="compare-scatter" onClick={jump}>
          Scatter plot
        </button>
      </nav>
      <Charts runs={colored} />
      <ParamDiff runs={colored} />
      <MetricsTable runs={colored} />
      <Scatter runs={colored} />
    </>
  );
}

/** In-page section links (the hash is the route, so these are buttons that scroll). */
function jump(e: MouseEvent) {
  e.preventDefault();
  const id = (e.currentTarget as HTMLElement).dataset.target;
  if (id) document.getElementById(id)?.scrollIntoView({ block: 'start' });
}

const sortedKeys = (lists: ({ key: string }[] | undefined)[]) =>
  [...new Set(lists.flatMap((l) => (l ?? []).map((x) => x.key)))].sort((a, b) => a.localeCompare(b));

function Charts({ runs }: { runs: Colored[] }) {
  const [filter, setFilter] = useState('');
  const keys = sortedKeys(runs.map((r) => r.run.data.metrics));
  const needle = filter.trim().toLowerCase();
  const shown = needle ? keys.filter((k) => k.toLowerCase().includes(needle)) : keys;
  const maxPoints = runs.length <= 10 ? 1000 : runs.length <= 40 ? 500 : 250;
  return (
    <section id="compare-charts" class="compare-section" aria-label="Metric charts">
      <h2>Metric charts</h2>
      {keys.length === 0 ? (
        <p class="muted">These runs have no metrics.</p>
      ) : (
        <>
          <ChartControls filter={filter} onFilter={setFilter} count={{ shown: shown.length, total: keys.length }} />
          <div class="chart-grid">
            {shown.map((key) => {
              const chartRuns: ChartRun[] = runs
                .filter((r) => r.run.data.metrics?.some((m) => m.key === key))
                .map((r) => ({ id: r.id, label: r.name, color: r.color }));
              return <MetricChart key={key} metricKey={key} runs={chartRuns} syncKey="compare" maxPoints={maxPoints} />;
            })}
          </div>
        </>
      )}
    </section>
  );
}

function RunHeaders({ runs }: { runs: Colored[] }) {
  return (
    <>
      {runs.map((r) => (
        <th key={r.id} scope="col" class="run-col">
          <span class="swatch" style={{ background: r.color }} /> <a href={r.link}>{r.name}</a>
        </th>
      ))}
    </>
  );
}

function ParamDiff({ runs }: { runs: Colored[] }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const keys = sortedKeys(runs.map((r) => r.run.data.params));
  const rows = keys.map((key) => {
    const values = runs.map((r) => r.run.data.params?.find((p) => p.key === key)?.value);
    return { key, values, differs: new Set(values).size > 1 };
  });
  const differing = rows.filter((r) => r.differs).length;
  const shown = onlyDiff ? rows.filter((r) => r.differs) : rows;
  return (
    <section id="compare-params" class="compare-section" aria-label="Parameters">
      <h2>
        Parameters <span class="count">{keys.length} · {differing} differ</span>
      </h2>
      {keys.length === 0 ? (
        <p class="muted">These runs have no parameters.</p>
      ) : (
        <>
          <div class="toolbar">
            <label class="check">
              <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff((e.target as HTMLInputElement).checked)} />
              Only differences
            </label>
          </div>
          <div class="table-scroll">
            <table class="grid compare-table param-diff" aria-label="Parameter differences">
              <thead>
                <tr>
                  <th scope="col">Parameter</th>
                  <RunHeaders runs={runs} />
                </tr>
              </thead>
              <tbody>
                {shown.length === 0 && (
                  <tr>
                    <td colSpan={runs.length + 1} class="muted">
                      All {keys.length} parameters have the same value in every run.
                    </td>
                  </tr>
                )}
                {shown.map((row) => (
                  <tr
                    key={row.key}
                    data-param={row.key}
                    class={row.differs ? 'differs' : undefined}
                    data-differs={row.differs ? 'true' : undefined}
                  >
                    <th scope="row" class="key">
                      {row.key}
                      {row.differs && <span class="diff-mark" title="Values differ between runs" aria-label="differs" />}
                    </th>
                    {row.values.map((v, i) => (
                      <td key={runs[i].id} class="value">
                        {v ?? <span class="muted">—</span>}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function MetricsTable({ runs }: { runs: Colored[] }) {
  const keys = sortedKeys(runs.map((r) => r.run.data.metrics));
  if (keys.length === 0) return null;
  return (
    <section id="compare-metrics" class="compare-section" aria-label="Latest metrics">
      <h2>
        Metrics <span class="count">latest values</span>
      </h2>
      <div class="table-scroll">
        <table class="grid compare-table metric-table" aria-label="Latest metrics">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <RunHeaders runs={runs} />
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => {
              const values = runs.map((r) => r.run.data.metrics?.find((m) => m.key === key));
              const numbers = values.map((m) => (m ? metricValue(m.value) : NaN)).filter(Number.isFinite);
              const lo = Math.min(...numbers);
              const hi = Math.max(...numbers);
              return (
                <tr key={key} data-metric={key}>
                  <th scope="row" class="key">
                    {key}
                  </th>
                  {values.map((m, i) => {
                    const v = m ? metricValue(m.value) : NaN;
                    const mark = numbers.length > 1 && lo !== hi ? (v === lo ? 'min' : v === hi ? 'max' : '') : '';
                    return (
                      <td
                        key={runs[i].id}
                        class={`num ${mark}`}
                        title={m ? `${m.value} at step ${m.step ?? 0}${mark ? ` (${mark})` : ''}` : undefined}
                      >
                        {m ? num(m.value) : <span class="muted">—</span>}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="muted small">The lowest value of each metric is marked ▼, the highest ▲.</p>
    </section>
  );
}

type Axis = `param:${string}` | `metric:${string}`;

function Scatter({ runs }: { runs: Colored[] }) {
  const paramKeys = sortedKeys(runs.map((r) => r.run.data.params));
  const metricKeys = sortedKeys(runs.map((r) => r.run.data.metrics));
  // By default: the numeric parameter with the most distinct values (a swept one).
  let numericParam: string | undefined;
  let mostDistinct = 1;
  for (const k of paramKeys) {
    const values = runs.map((r) => r.run.data.params?.find((p) => p.key === k)?.value);
    const distinct = new Set(values).size;
    if (distinct > mostDistinct && values.every((v) => v !== undefined && Number.isFinite(Number(v)))) {
      numericParam = k;
      mostDistinct = distinct;
    }
  }
  const defaultX: Axis | undefined = numericParam
    ? `param:${numericParam}`
    : paramKeys[0]
      ? `param:${paramKeys[0]}`
      : metricKeys[1]
        ? `metric:${metricKeys[1]}`
        : undefined;
  const [xChoice, setX] = useState<Axis | undefined>();
  const [yChoice, setY] = useState<string | undefined>();
  const x = xChoice ?? defaultX;
  const y = yChoice ?? metricKeys[0];
  if (metricKeys.length === 0 || !x || !y) return null;

  const valueOf = (run: Run, axis: Axis): number | string | undefined => {
    const [kind, ...rest] = axis.split(':');
    const key = rest.join(':');
    if (kind === 'metric') {
      const m = run.data.metrics?.find((mm) => mm.key === key);
      return m ? metricValue(m.value) : undefined;
    }
    return run.data.params?.find((p) => p.key === key)?.value;
  };
  const rawX = runs.map((r) => valueOf(r.run, x));
  const xNumeric = rawX.every((v) => v === undefined || (v !== '' && Number.isFinite(Number(v))));
  const points: ScatterPoint[] = [];
  runs.forEach((r, i) => {
    const xv = rawX[i];
    const yv = valueOf(r.run, `metric:${y}`);
    if (xv === undefined || typeof yv !== 'number' || !Number.isFinite(yv)) return;
    points.push({ x: xNumeric ? Number(xv) : String(xv), y: yv, label: r.name, color: r.color });
  });
  const xLabel = x.slice(x.indexOf(':') + 1);
  return (
    <section id="compare-scatter" class="compare-section" aria-label="Scatter plot">
      <h2>Scatter plot</h2>
      <div class="toolbar">
        <label class="chart-field">
          <span>X</span>
          <select aria-label="Scatter plot x axis" value={x} onChange={(e) => setX((e.target as HTMLSelectElement).value as Axis)}>
            {paramKeys.length > 0 && (
              <optgroup label="Parameters">
                {paramKeys.map((k) => (
                  <option key={k} value={`param:${k}`}>
                    {k}
                  </option>
                ))}
              </optgroup>
            )}
            <optgroup label="Metrics">
              {metricKeys.map((k) => (
                <option key={k} value={`metric:${k}`}>
                  {k}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <label class="chart-field">
          <span>Y</span>
          <select aria-label="Scatter plot y axis" value={y} onChange={(e) => setY((e.target as HTMLSelectElement).value)}>
            {metricKeys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">
          {points.length} of {runs.length} runs have both values
        </span>
      </div>
      {points.length === 0 ? (
        <EmptyState title="No run has both values">
          <p>Pick another parameter or metric above.</p>
        </EmptyState>
      ) : (
        <div class="card scatter-card">
          <ScatterPlot points={points} xLabel={xLabel} yLabel={y} />
        </div>
      )}
    </section>
  );
}

//! The run's Overview tab: details (status, times, user, parent, source and git), description,
//! parameters, latest metrics (linking to their charts), tags, dataset inputs and logged models.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { loggedModelsOfRun } from '../../api/loggedModels';
import { getExperiment } from '../../api/experiments';
import { getRun, runName, runTag, searchRuns } from '../../api/runs';
import type { DatasetInput, KeyValue, Metric, Run } from '../../api/types';
import { RunStatusBadge } from '../../components/RunStatus';
import { Time } from '../../components/Time';
import { duration, num, toMillis } from '../../lib/format';
import { useAsync } from '../../lib/useAsync';
import { href } from '../../router';
import '../../styles/run.css';

const runHref = (experimentId: string, runId: string, ...rest: string[]) =>
  href(['experiments', experimentId, 'runs', runId, ...rest]);

export function RunOverview({ run }: { run: Run }) {
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const matches = (key: string) => !needle || key.toLowerCase().includes(needle);
  const tags = run.data.tags ?? [];
  const userTags = tags.filter((t) => !t.key.startsWith('mlflow.')).filter((t) => matches(t.key));
  const systemTags = tags.filter((t) => t.key.startsWith('mlflow.')).filter((t) => matches(t.key));
  const params = (run.data.params ?? []).filter((p) => matches(p.key));
  const metrics = (run.data.metrics ?? []).filter((m) => matches(m.key));
  const description = runTag(run, 'mlflow.note.content');
  const userTagCount = tags.filter((t) => !t.key.startsWith('mlflow.')).length;

  return (
    <div class="run-overview">
      <div class="overview-top">
        <Details run={run} />
        <section class="card description" aria-label="Description">
          <h2>Description</h2>
          {description ? (
            <p class="note">{description}</p>
          ) : (
            <p class="muted">
              No description. Set the tag <code>mlflow.note.content</code> on the run to add one.
            </p>
          )}
        </section>
      </div>

      <div class="toolbar overview-filter">
        <input
          class="search"
          type="search"
          data-search
          placeholder="Filter parameters, metrics and tags by key (press / to focus)"
          aria-label="Filter parameters, metrics and tags by key"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      </div>

      <div class="overview-columns">
        <Section title="Parameters" count={params.length} total={run.data.params?.length ?? 0} filtered={!!needle}>
          <KeyValueTable items={params} label="Parameters" kind="param" />
        </Section>
        <Section title="Metrics" count={metrics.length} total={run.data.metrics?.length ?? 0} filtered={!!needle}>
          <MetricsTable run={run} metrics={metrics} />
        </Section>
      </div>

      <section class="overview-section" aria-label="Tags">
        <h2>
          Tags <span class="count">{needle ? `${userTags.length} of ${userTagCount}` : userTagCount}</span>
        </h2>
        {userTags.length > 0 ? (
          <KeyValueTable items={userTags} label="Tags" kind="tag" />
        ) : (
          <p class="muted">
            {needle && userTagCount ? 'No tags match the filter.' : 'No tags. Set them with mlflow.set_tag(key, value).'}
          </p>
        )}
        {systemTags.length > 0 && (
          <details class="system-tags">
            <summary>System tags ({systemTags.length})</summary>
            <KeyValueTable items={systemTags} label="System tags" kind="tag" />
          </details>
        )}
      </section>

      <Datasets inputs={run.inputs?.dataset_inputs ?? []} />
      <LoggedModels run={run} />
      <ChildRuns run={run} />
    </div>
  );
}

function Section(props: { title: string; count: number; total: number; filtered: boolean; children: ComponentChildren }) {
  const { title, count, total, filtered } = props;
  return (
    <section class="overview-section" aria-label={title}>
      <h2>
        {title} <span class="count">{filtered && count !== total ? `${count} of ${total}` : total}</span>
      </h2>
      {total === 0 ? (
        <p class="muted">None logged.</p>
      ) : count === 0 && filtered ? (
        <p class="muted">No {title.toLowerCase()} match the filter.</p>
      ) : (
        props.children
      )}
    </section>
  );
}

function Details({ run }: { run: Run }) {
  const { info } = run;
  const experiment = useAsync((signal) => getExperiment(info.experiment_id, signal), [info.experiment_id]);
  const parentId = runTag(run, 'mlflow.parentRunId');
  const parent = useAsync((signal) => (parentId ? getRun(parentId, signal) : Promise.resolve(undefined)), [parentId]);
  const start = toMillis(info.start_time);
  const end = toMillis(info.end_time);
  const user = info.user_id || runTag(run, 'mlflow.user');
  const source = runTag(run, 'mlflow.source.name');
  const sourceType = runTag(run, 'mlflow.source.type');
  const commit = runTag(run, 'mlflow.source.git.commit');
  const branch = runTag(run, 'mlflow.source.git.branch');
  const repo = runTag(run, 'mlflow.source.git.repoURL') ?? runTag(run, 'mlflow.gitRepoURL');
  const entryPoint = runTag(run, 'mlflow.project.entryPoint');
  const rows: [string, ComponentChildren][] = [
    ['Run ID', <code>{info.run_id}</code>],
    [
      'Experiment',
      <a href={href(['experiments', info.experiment_id])}>{experiment.data?.name ?? info.experiment_id}</a>,
    ],
    ['Status', <RunStatusBadge status={info.status} />],
    ['Started', <Time value={info.start_time} />],
    ['Ended', info.status === 'RUNNING' ? <span class="muted">still running</span> : <Time value={info.end_time} />],
    [
      'Duration',
      start !== undefined && end !== undefined && end >= start ? (
        duration(end - start)
      ) : start !== undefined && info.status === 'RUNNING' ? (
        <span>{duration(Date.now() - start)} so far</span>
      ) : (
        <span class="muted">—</span>
      ),
    ],
    ['User', user || <span class="muted">—</span>],
  ];
  if (parentId) {
    rows.push([
      'Parent run',
      <a href={runHref(parent.data?.info.experiment_id ?? info.experiment_id, parentId)} data-parent-run>
        {parent.data ? runName(parent.data) : parentId}
      </a>,
    ]);
  }
  if (source) rows.push(['Source', <span>{source}{sourceType && <span class="muted"> ({sourceType.toLowerCase()})</span>}</span>]);
  if (entryPoint) rows.push(['Entry point', <code>{entryPoint}</code>]);
  if (commit) rows.push(['Git commit', <code title={commit}>{commit.slice(0, 12)}</code>]);
  if (branch) rows.push(['Git branch', <code>{branch}</code>]);
  if (repo) {
    const link = /^https?:\/\//.test(repo);
    rows.push(['Git repository', link ? <a href={repo} target="_blank" rel="noreferrer">{repo}</a> : <code>{repo}</code>]);
  }
  if (info.artifact_uri) rows.push(['Artifact location', <code class="wrap">{info.artifact_uri}</code>]);
  if (info.lifecycle_stage === 'deleted') rows.push(['Lifecycle', <span class="badge error">deleted</span>]);
  return (
    <section class="card details" aria-label="Details">
      <h2>Details</h2>
      <table class="kv details-table">
        <tbody>
          {rows.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}


const byKey = <T extends { key: string }>(a: T, b: T) => a.key.localeCompare(b.key);

/** Name/value rows sorted by name; `kind` names each row's data attribute (`data-param=…`). */
function KeyValueTable({ items, label, kind }: { items: KeyValue[]; label: string; kind: 'param' | 'tag' }) {
  return (
    <table class="grid kv-table" aria-label={label}>
      <thead>
        <tr>
          <th>Name</th>
          <th>Value</th>
        </tr>
      </thead>
      <tbody>
        {[...items].sort(byKey).map((item) => (
          <tr key={item.key} {...{ [`data-${kind}`]: item.key }}>
            <td class="key">{item.key}</td>
            <td class="value">{item.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricsTable({ run, metrics }: { run: Run; metrics: Metric[] }) {
  return (
    <table class="grid kv-table" aria-label="Metrics">
      <thead>
        <tr>
          <th>Name</th>
          <th>Latest value</th>
          <th>Step</th>
          <th>Logged</th>
        </tr>
      </thead>
      <tbody>
        {[...metrics].sort(byKey).map((m) => (
          <tr key={m.key} data-metric={m.key}>
            <td class="key">
              <a
                href={href(['experiments', run.info.experiment_id, 'runs', run.info.run_id, 'metrics'], { metric: m.key })}
                title="Show its chart"
              >
                {m.key}
              </a>
            </td>
            <td class="num" title={String(m.value)}>
              {num(m.value)}
            </td>
            <td class="num muted">{m.step ?? 0}</td>
            <td>
              <Time value={m.timestamp} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A dataset's source as a URI when it is MLflow's JSON (`{"uri": …}`), else as logged. */
function datasetSource(source: string): string {
  try {
    const parsed = JSON.parse(source) as Record<string, unknown>;
    for (const key of ['uri', 'url', 'path', 'table_name']) {
      if (typeof parsed[key] === 'string') return parsed[key] as string;
    }
  } catch {
    // not JSON: shown as is
  }
  return source;
}

function Datasets({ inputs }: { inputs: DatasetInput[] }) {
  if (inputs.length === 0) return null;
  return (
    <section class="overview-section" aria-label="Datasets">
      <h2>
        Datasets <span class="count">{inputs.length}</span>
      </h2>
      <table class="grid" aria-label="Dataset inputs">
        <thead>
          <tr>
            <th>Name</th>
            <th>Digest</th>
            <th>Source type</th>
            <th>Source</th>
            <th>Context</th>
          </tr>
        </thead>
        <tbody>
          {inputs.map((input, i) => {
            const context = input.tags?.find((t) => t.key === 'mlflow.data.context')?.value;
            return (
              <tr key={`${input.dataset.name}:${input.dataset.digest}:${i}`} data-dataset={input.dataset.name}>
                <td>{input.dataset.name}</td>
                <td class="num">{input.dataset.digest}</td>
                <td>{input.dataset.source_type}</td>
                <td class="value" title={input.dataset.source}>
                  {datasetSource(input.dataset.source)}
                </td>
                <td>{context ? <span class="badge">{context}</span> : <span class="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

interface ModelRow {
  id: string;
  direction: 'input' | 'output';
  step?: string | number;
}

function LoggedModels({ run }: { run: Run }) {
  const rows: ModelRow[] = [
    ...(run.inputs?.model_inputs ?? []).map((m): ModelRow => ({ id: m.model_id, direction: 'input' })),
    ...(run.outputs?.model_outputs ?? []).map((m): ModelRow => ({ id: m.model_id, direction: 'output', step: m.step })),
  ];
  const experimentId = run.info.experiment_id;
  // Names and experiments of the models this run produced (logged-models/search by source run).
  const found = useAsync(
    async (signal) => {
      if (rows.length === 0) return [];
      return loggedModelsOfRun(experimentId, run.info.run_id, signal);
    },
    [run.info.run_id, rows.length],
  );
  if (rows.length === 0) return null;
  const known = new Map((found.data ?? []).map((m) => [m.info.model_id, m]));
  return (
    <section class="overview-section" aria-label="Logged models">
      <h2>
        Logged models <span class="count">{rows.length}</span>
      </h2>
      <table class="grid" aria-label="Logged models">
        <thead>
          <tr>
            <th>Model</th>
            <th>ID</th>
            <th>Direction</th>
            <th>Step</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const model = known.get(row.id);
            const link = href(['experiments', model?.info.experiment_id ?? experimentId, 'models', row.id]);
            return (
              <tr key={`${row.direction}:${row.id}`} data-model={row.id}>
                <td>
                  <a href={link}>{model?.info.name ?? row.id}</a>
                </td>
                <td class="num muted">{row.id}</td>
                <td>
                  <span class="badge">{row.direction === 'input' ? 'input' : 'output'}</span>
                </td>
                <td class="num">{row.step ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function ChildRuns({ run }: { run: Run }) {
  const { experiment_id: experimentId, run_id: runId } = run.info;
  const children = useAsync(
    (signal) =>
      searchRuns(
        {
          experimentIds: [experimentId],
          filter: `tags.mlflow.parentRunId = '${runId}'`,
          maxResults: 100,
          orderBy: ['attributes.start_time ASC'],
        },
        signal,
      ),
    [experimentId, runId],
  );
  const runs = children.data?.runs ?? [];
  if (runs.length === 0) return null;
  return (
    <section class="overview-section" aria-label="Child runs">
      <h2>
        Child runs <span class="count">{children.data?.next_page_token ? `${runs.length}+` : runs.length}</span>
      </h2>
      <ul class="child-runs">
        {runs.map((child) => (
          <li key={child.info.run_id}>
            <a href={runHref(experimentId, child.info.run_id)}>{runName(child)}</a>{' '}
            <RunStatusBadge status={child.info.status} />{' '}
            <Time value={child.info.start_time} />
          </li>
        ))}
      </ul>
    </section>
  );
}

//! A logged model (MLflow 3): header, where it came from (source run, artifact location, registry
//! versions), its params, metrics and tags, and its artifacts.
import { getExperiment } from '../api/experiments';
import { getLoggedModel, registeredVersions, userTags } from '../api/loggedModels';
import { getRun, runName } from '../api/runs';
import type { KeyValue, LoggedModel, Metric } from '../api/types';
import { useMemo } from 'preact/hooks';
import type { ArtifactSource } from '../api/artifacts';
import { ArtifactBrowser } from '../components/ArtifactBrowser';
import { EmptyState, ErrorBanner, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { num } from '../lib/format';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href, location } from '../router';
import '../styles/runs.css';
import { ModelStatus } from './loggedModels';

interface Props {
  experimentId: string;
  modelId: string;
}

export default function LoggedModelPage({ experimentId, modelId }: Props) {
  const model = useAsync((signal) => getLoggedModel(modelId, signal), [modelId]);
  const experiment = useAsync((signal) => getExperiment(experimentId, signal), [experimentId]);
  const name = model.data?.info.name;
  useTitle(name ?? `Logged model ${modelId}`, experiment.data?.name);
  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/">Experiments</a>
        <a href={href(['experiments', experimentId])}>{experiment.data?.name ?? experimentId}</a>
        <a href={href(['experiments', experimentId, 'models'])}>Logged models</a>
        <span>{name ?? modelId}</span>
      </div>
      <div class="page-header">
        <h1>{name ?? `Logged model ${modelId}`}</h1>
        {model.data && <ModelStatus status={model.data.info.status} />}
        <span class="badge mono" title="Model ID">
          {modelId}
        </span>
      </div>
      {model.error && <ErrorBanner error={model.error} onRetry={model.reload} />}
      {!model.data && !model.error && <Loading />}
      {model.data && <ModelDetails model={model.data} experimentId={experimentId} />}
    </section>
  );
}

function ModelDetails({ model, experimentId }: { model: LoggedModel; experimentId: string }) {
  const artifactSource = useMemo((): ArtifactSource => ({ kind: 'loggedModel', id: model.info.model_id }), [model.info.model_id]);
  const { info } = model;
  const runId = info.source_run_id;
  const sourceRun = useAsync((signal) => (runId ? getRun(runId, signal) : Promise.resolve(undefined)), [runId]);
  const versions = registeredVersions(model);
  const tags = userTags(info.tags);
  const systemTags = (info.tags ?? []).filter((t) => t.key.startsWith('mlflow.'));
  const artifactPath = location.value.query.get('artifact') ?? undefined;
  const base = ['experiments', experimentId, 'models', info.model_id];
  return (
    <>
      <div class="cards model-meta">
        <div class="card stat">
          <div class="label">Created</div>
          <div class="value">
            <Time value={info.creation_timestamp_ms} />
          </div>
        </div>
        <div class="card stat">
          <div class="label">Last updated</div>
          <div class="value">
            <Time value={info.last_updated_timestamp_ms} />
          </div>
        </div>
        <div class="card stat">
          <div class="label">Source run</div>
          <div class="value">
            {runId ? (
              <a href={href(['experiments', info.experiment_id || experimentId, 'runs', runId])} data-source-run={runId}>
                {sourceRun.data ? runName(sourceRun.data) : runId}
              </a>
            ) : (
              <span class="muted">none</span>
            )}
          </div>
        </div>
        {info.model_type && (
          <div class="card stat">
            <div class="label">Model type</div>
            <div class="value">{info.model_type}</div>
          </div>
        )}
        <div class="card stat">
          <div class="label">Registered as</div>
          <div class="value">
            {versions.length === 0 ? (
              <span class="muted">not registered</span>
            ) : (
              <span class="version-links">
                {versions.map((v) => (
                  <a key={`${v.name}/${v.version}`} href={href(['models', v.name, 'versions', v.version])}>
                    {v.name} v{v.version}
                  </a>
                ))}
              </span>
            )}
          </div>
        </div>
      </div>
      <div class="card stat model-meta">
        <div class="label">Artifact location</div>
        <div class="value mono" data-artifact-uri>
          {info.artifact_uri ?? '—'}
        </div>
      </div>

      <h2>Params</h2>
      <KeyValues items={model.data?.params} empty="This model has no params." label="Params" />

      <h2>Metrics</h2>
      <Metrics metrics={model.data?.metrics} />

      <h2>Tags</h2>
      <KeyValues items={tags} empty="No tags besides the client's own." label="Tags" />
      {systemTags.length > 0 && (
        <details class="system-tags">
          <summary class="muted">System tags ({systemTags.length})</summary>
          <KeyValues items={systemTags} empty="" label="System tags" />
        </details>
      )}

      <h2>Artifacts</h2>
      <ArtifactBrowser
        source={artifactSource}
        path={artifactPath}
        hrefFor={(path) => href(base, { artifact: path })}
      />
    </>
  );
}

function KeyValues({ items, empty, label }: { items: KeyValue[] | undefined; empty: string; label: string }) {
  if (!items?.length) return <p class="muted">{empty}</p>;
  const sorted = [...items].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <table class="grid kv" aria-label={label}>
      <tbody>
        {sorted.map((item) => (
          <tr key={item.key}>
            <td>{item.key}</td>
            <td>{item.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Metrics({ metrics }: { metrics: Metric[] | undefined }) {
  if (!metrics?.length) {
    return (
      <EmptyState title="No metrics logged for this model">
        <p>
          Log some with <code>mlflow.log_metric("accuracy", 0.9, model_id=...)</code>, or evaluate the model with{' '}
          <code>mlflow.evaluate</code>.
        </p>
      </EmptyState>
    );
  }
  return (
    <table class="grid" aria-label="Metrics">
      <thead>
        <tr>
          <th>Metric</th>
          <th>Value</th>
          <th>Step</th>
          <th>Dataset</th>
          <th>Logged</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m, i) => (
          <tr key={`${m.key}-${i}`}>
            <td>{m.key}</td>
            <td class="num" title={String(m.value)}>
              {num(m.value)}
            </td>
            <td class="num">{m.step ?? 0}</td>
            <td>{m.dataset_name ?? <span class="muted">—</span>}</td>
            <td>
              <Time value={m.timestamp} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

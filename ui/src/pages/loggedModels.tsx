//! An experiment's "Logged models" tab: the MLflow 3 models logged in it, newest first, with status,
//! creation time, source run and the registry versions made from them.
import { modelStatus, registeredVersions, searchLoggedModels } from '../api/loggedModels';
import { runName, searchRuns } from '../api/runs';
import type { Experiment, LoggedModel } from '../api/types';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { inList } from '../lib/filterLiteral';
import { useAsync } from '../lib/useAsync';
import { usePagedList } from '../lib/usePagedList';
import { href } from '../router';
import '../styles/runs.css';

function firstModelSnippet(name: string): string {
  return `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.set_experiment(${JSON.stringify(name)})

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input

with mlflow.start_run():
    mlflow.pyfunc.log_model(name="model", python_model=Echo())`;
}

export function ModelStatus({ status }: { status?: string }) {
  const label = modelStatus(status);
  const kind = label === 'ready' ? 'ok' : label === 'failed' ? 'error' : label === 'pending' ? 'running' : '';
  return <span class={`badge ${kind}`}>{label}</span>;
}

/** The names of the models' source runs, fetched in one search. */
async function sourceRunNames(experimentId: string, models: LoggedModel[], signal: AbortSignal): Promise<Map<string, string>> {
  const ids = [...new Set(models.map((m) => m.info.source_run_id).filter((id): id is string => !!id))].slice(0, 100);
  if (ids.length === 0) return new Map();
  const page = await searchRuns(
    { experimentIds: [experimentId], filter: `attributes.run_id IN ${inList(ids)}`, maxResults: ids.length, viewType: 'ALL' },
    signal,
  );
  return new Map(page.runs.map((r) => [r.info.run_id, runName(r)]));
}

export function LoggedModelsTab({ experiment }: { experiment: Experiment }) {
  const experimentId = experiment.experiment_id;
  const list = usePagedList(
    async (pageToken, signal) => {
      const page = await searchLoggedModels({ experimentIds: [experimentId], pageToken }, signal);
      return { items: page.models, next: page.next_page_token };
    },
    [experimentId],
  );
  const models = list.items ?? [];
  const idsKey = models.map((m) => m.info.source_run_id ?? '').join(',');
  const names = useAsync((signal) => sourceRunNames(experimentId, models, signal), [experimentId, idsKey]);

  if (list.error) return <ErrorBanner error={list.error} onRetry={list.reload} />;
  if (!list.items) return <Loading label="Loading logged models…" />;
  if (models.length === 0) {
    return (
      <EmptyState title="No logged models in this experiment">
        <p>
          Models logged with MLflow 3's <code>log_model</code> show up here, linked to the run that made them:
        </p>
        <Snippet code={firstModelSnippet(experiment.name)} />
      </EmptyState>
    );
  }
  return (
    <>
      <table class="grid logged-models" aria-label="Logged models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Created</th>
            <th>Source run</th>
            <th>Registered as</th>
            <th>Model ID</th>
          </tr>
        </thead>
        <tbody>
          {models.map((model) => {
            const { info } = model;
            const runId = info.source_run_id;
            const versions = registeredVersions(model);
            return (
              <tr key={info.model_id} data-model-id={info.model_id}>
                <td>
                  <a href={href(['experiments', experimentId, 'models', info.model_id])}>{info.name}</a>
                </td>
                <td>
                  <ModelStatus status={info.status} />
                </td>
                <td>
                  <Time value={info.creation_timestamp_ms} />
                </td>
                <td>
                  {runId ? (
                    <a href={href(['experiments', info.experiment_id || experimentId, 'runs', runId])} data-source-run={runId}>
                      {names.data?.get(runId) ?? runId}
                    </a>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td>
                  {versions.length === 0 ? (
                    <span class="muted">—</span>
                  ) : (
                    <span class="version-links">
                      {versions.map((v) => (
                        <a key={`${v.name}/${v.version}`} href={href(['models', v.name, 'versions', v.version])}>
                          {v.name} v{v.version}
                        </a>
                      ))}
                    </span>
                  )}
                </td>
                <td class="mono muted">{info.model_id}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {list.moreError && <ErrorBanner error={list.moreError} onRetry={list.loadMore} />}
      {list.hasMore && (
        <div class="toolbar" style={{ marginTop: 12 }}>
          <button type="button" onClick={list.loadMore} disabled={list.loadingMore || list.loading}>
            {list.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </>
  );
}

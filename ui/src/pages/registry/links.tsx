//! Links from registry pages to the run and the logged model a version came from. Each run and
//! model is fetched once per page load (many versions share one run).
import { getLoggedModel } from '../../api/loggedModels';
import { getRun, runName } from '../../api/runs';
import type { LoggedModel, Run } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { href } from '../../router';

const runs = new Map<string, Promise<Run>>();
const models = new Map<string, Promise<LoggedModel>>();

function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let promise = cache.get(key);
  if (!promise) {
    promise = load();
    cache.set(key, promise);
    // A failure is not remembered: the next page load asks again.
    promise.catch(() => cache.delete(key));
  }
  return promise;
}

export const cachedRun = (runId: string) => cached(runs, runId, () => getRun(runId));

export const cachedLoggedModel = (modelId: string) =>
  cached(models, modelId, () => getLoggedModel(modelId));

/** `#/experiments/<exp>/runs/<run>` named after the run. */
export function RunLink({ runId }: { runId?: string }) {
  const run = useAsync(() => (runId ? cachedRun(runId) : Promise.resolve(undefined)), [runId]);
  if (!runId) return <span class="muted">—</span>;
  if (run.data) {
    return (
      <a href={href(['experiments', run.data.info.experiment_id, 'runs', runId])} title={`Run ${runId}`} data-run-link={runId}>
        {runName(run.data)}
      </a>
    );
  }
  return (
    <span class="mono muted" title={run.error ? `Run ${runId}: ${run.error.message}` : `Run ${runId}`}>
      {runId.slice(0, 8)}…
    </span>
  );
}

/** `#/experiments/<exp>/models/<id>` named after the logged model. */
export function LoggedModelLink({ modelId }: { modelId?: string }) {
  const model = useAsync(() => (modelId ? cachedLoggedModel(modelId) : Promise.resolve(undefined)), [modelId]);
  if (!modelId) return <span class="muted">—</span>;
  if (model.data) {
    const info = model.data.info;
    return (
      <a href={href(['experiments', info.experiment_id, 'models', modelId])} title={`Logged model ${modelId}`}>
        {info.name} <span class="muted mono">{modelId.slice(0, 10)}…</span>
      </a>
    );
  }
  return (
    <span class="mono muted" title={model.error ? `${modelId}: ${model.error.message}` : modelId}>
      {modelId}
    </span>
  );
}

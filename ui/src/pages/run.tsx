//! A run: header (name, status, experiment) and tabs for the overview, metric charts and artifacts.
import { getExperiment } from '../api/experiments';
import { getRun, runName } from '../api/runs';
import { useMemo } from 'preact/hooks';
import type { ArtifactSource } from '../api/artifacts';
import { ArtifactBrowser } from '../components/ArtifactBrowser';
import { HistoryLink } from '../components/HistoryLink';
import { RunStatusBadge } from '../components/RunStatus';
import { ErrorBanner, Loading } from '../components/Status';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href } from '../router';
import { RunMetrics } from './run/metrics';
import { RunOverview } from './run/overview';

type Tab = 'overview' | 'metrics' | 'artifacts';

interface Props {
  experimentId: string;
  runId: string;
  tab: Tab;
  artifactPath?: string;
}

export default function RunPage({ experimentId, runId, tab, artifactPath }: Props) {
  const run = useAsync((signal) => getRun(runId, signal), [runId]);
  const experiment = useAsync((signal) => getExperiment(experimentId, signal), [experimentId]);
  const name = run.data ? runName(run.data) : undefined;
  useTitle(name ?? `Run ${runId}`, experiment.data?.name);
  const base = ['experiments', experimentId, 'runs', runId];
  // One object per run: the artifact browser reloads when its source changes identity.
  const artifactSource = useMemo((): ArtifactSource => ({ kind: 'run', id: runId, experimentId }), [runId, experimentId]);
  const tabs: [Tab, string, string][] = [
    ['overview', 'Overview', href(base)],
    ['metrics', 'Metrics', href([...base, 'metrics'])],
    ['artifacts', 'Artifacts', href([...base, 'artifacts'])],
  ];
  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/">Experiments</a>
        <a href={href(['experiments', experimentId])}>{experiment.data?.name ?? experimentId}</a>
        <span>{name ?? runId}</span>
      </div>
      <div class="page-header">
        <h1>{name ?? `Run ${runId}`}</h1>
        {run.data && <RunStatusBadge status={run.data.info.status} />}
        <div class="actions">
          <HistoryLink kind="Run" id={runId} noun="run" />
        </div>
      </div>
      {run.error && <ErrorBanner error={run.error} onRetry={run.reload} />}
      {!run.data && !run.error && <Loading />}
      {run.data && (
        <>
          <nav class="tabs" role="tablist" aria-label="Run views">
            {tabs.map(([key, label, link]) => (
              <a key={key} role="tab" aria-selected={tab === key} href={link}>
                {label}
              </a>
            ))}
          </nav>
          {tab === 'overview' && <RunOverview run={run.data} />}
          {tab === 'metrics' && <RunMetrics run={run.data} />}
          {tab === 'artifacts' && (
            <ArtifactBrowser
              source={artifactSource}
              path={artifactPath}
              hrefFor={(path) => href([...base, 'artifactPath', ...path.split('/').filter(Boolean)])}
            />
          )}
        </>
      )}
    </section>
  );
}

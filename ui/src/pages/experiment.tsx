//! An experiment: its header (name, ID, description) and tabs for runs, traces and logged models,
//! and, for those who manage it, who has access.
import { getExperiment, tagValue } from '../api/experiments';
import { AccessCard } from '../components/AccessCard';
import { HistoryLink } from '../components/HistoryLink';
import { ErrorBanner, Loading } from '../components/Status';
import { useLevel } from '../lib/permissions';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href } from '../router';
import { LoggedModelsTab } from './loggedModels';
import { RunsTab } from './runs';
import { TracesTab } from './traces';

type Tab = 'runs' | 'traces' | 'models' | 'access';

export default function ExperimentPage({ experimentId, tab }: { experimentId: string; tab: Tab }) {
  const experiment = useAsync((signal) => getExperiment(experimentId, signal), [experimentId]);
  const exp = experiment.data;
  useTitle(exp?.name ?? `Experiment ${experimentId}`);
  const manages = useLevel('experiment', exp ? experimentId : undefined)?.can_manage ?? false;
  if (experiment.error) {
    return (
      <section>
        <div class="breadcrumbs">
          <a href="#/">Experiments</a>
        </div>
        <h1>Experiment {experimentId}</h1>
        <ErrorBanner error={experiment.error} onRetry={experiment.reload} />
      </section>
    );
  }
  if (!exp) return <Loading />;
  const description = tagValue(exp, 'mlflow.note.content');
  const tabs: [Tab, string][] = [
    ['runs', 'Runs'],
    ['traces', 'Traces'],
    ['models', 'Logged models'],
    ...(manages ? ([['access', 'Access']] as [Tab, string][]) : []),
  ];
  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/">Experiments</a>
        <span>{exp.name}</span>
      </div>
      <div class="page-header">
        <h1>{exp.name}</h1>
        <span class="badge" title="Experiment ID">
          ID {exp.experiment_id}
        </span>
        {exp.lifecycle_stage === 'deleted' && <span class="badge error">deleted</span>}
        <div class="actions">
          <HistoryLink kind="Experiment" id={exp.experiment_id} noun="experiment" />
        </div>
      </div>
      {description && <p class="muted">{description}</p>}
      <nav class="tabs" role="tablist" aria-label="Experiment views">
        {tabs.map(([key, label]) => (
          <a key={key} role="tab" aria-selected={tab === key} href={href(['experiments', experimentId, key])}>
            {label}
          </a>
        ))}
      </nav>
      {tab === 'runs' && <RunsTab experiment={exp} />}
      {tab === 'traces' && <TracesTab experiment={exp} />}
      {tab === 'models' && <LoggedModelsTab experiment={exp} />}
      {tab === 'access' && manages && <AccessCard resourceType="experiment" resourceId={experimentId} noun="experiment" />}
    </section>
  );
}

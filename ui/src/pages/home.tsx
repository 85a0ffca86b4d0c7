//! Home: the experiments list with a name search, create, rename and delete (rename and delete
//! offered only where the signed-in user may).
import { useState } from 'preact/hooks';
import { createExperiment, deleteExperiment, renameExperiment, searchExperiments } from '../api/experiments';
import type { Experiment } from '../api/types';
import { Dialog } from '../components/Dialog';
import { NameSearch } from '../components/NameSearch';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { usePermissions } from '../lib/permissions';
import { useTitle } from '../lib/title';
import { usePagedList } from '../lib/usePagedList';
import { useQueryText } from '../lib/useQueryText';
import { href, navigate } from '../router';

type Editing = { kind: 'create' } | { kind: 'rename' | 'delete'; experiment: Experiment };

const FIRST_RUN = `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.set_experiment("my-experiment")
with mlflow.start_run():
    mlflow.log_param("lr", 0.01)
    mlflow.log_metric("loss", 0.42)`;

export default function HomePage() {
  useTitle('Experiments');
  const { query, text, setText } = useQueryText('q');
  const [editing, setEditing] = useState<Editing>();
  const page = usePagedList(
    async (pageToken, signal) => {
      const body = await searchExperiments(query, pageToken, signal);
      return { items: body.experiments, next: body.next_page_token };
    },
    [query],
  );
  const experiments = page.items ?? [];
  const levels = usePermissions(
    'experiment',
    experiments.map((e) => e.experiment_id),
  );

  return (
    <section>
      <div class="page-header">
        <h1>Experiments</h1>
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing({ kind: 'create' })}>
            New experiment
          </button>
        </div>
      </div>
      <NameSearch noun="experiments" text={text} setText={setText} />
      {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
      {page.loading && !page.items ? (
        <Loading />
      ) : experiments.length === 0 && !page.error && page.hasMore ? (
        <p class="muted">No experiment loaded so far matches “{query}”; load more to keep looking.</p>
      ) : experiments.length === 0 && !page.error ? (
        query ? (
          <EmptyState title={`No experiment matches “${query}”`}>
            <p>Clear the search or create an experiment with that name.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No experiments yet">
            <p>Create one here, or log your first run with the MLflow client:</p>
            <Snippet code={FIRST_RUN} />
          </EmptyState>
        )
      ) : (
        <table class="grid experiments" aria-label="Experiments">
          <thead>
            <tr>
              <th>Name</th>
              <th>ID</th>
              <th>Created</th>
              <th>Last modified</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {experiments.map((exp) => (
              <tr key={exp.experiment_id} data-experiment={exp.name}>
                <td>
                  <a href={href(['experiments', exp.experiment_id])}>{exp.name}</a>
                </td>
                <td class="num muted">{exp.experiment_id}</td>
                <td>
                  <Time value={exp.creation_time} />
                </td>
                <td>
                  <Time value={exp.last_update_time} />
                </td>
                <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                  {levels.get(exp.experiment_id)?.can_update && (
                    <button type="button" class="link" onClick={() => setEditing({ kind: 'rename', experiment: exp })}>
                      Rename
                    </button>
                  )}
                  {levels.get(exp.experiment_id)?.can_delete && (
                    <button type="button" class="link danger" onClick={() => setEditing({ kind: 'delete', experiment: exp })}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.moreError && <ErrorBanner error={page.moreError} onRetry={page.loadMore} />}
      {page.hasMore && (
        <div class="toolbar" style={{ marginTop: 12 }}>
          <button type="button" onClick={page.loadMore} disabled={page.loadingMore || page.loading}>
            {page.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      {editing?.kind === 'create' && (
        <Dialog
          title="New experiment"
          label="Name"
          submitLabel="Create"
          onClose={() => setEditing(undefined)}
          onSubmit={async (name) => {
            const { experiment_id } = await createExperiment(name);
            navigate(href(['experiments', experiment_id]));
          }}
        />
      )}
      {editing?.kind === 'rename' && (
        <Dialog
          title={`Rename “${editing.experiment.name}”`}
          label="New name"
          initial={editing.experiment.name}
          submitLabel="Rename"
          onClose={() => setEditing(undefined)}
          onSubmit={async (name) => {
            await renameExperiment(editing.experiment.experiment_id, name);
            page.reload();
          }}
        />
      )}
      {editing?.kind === 'delete' && (
        <Dialog
          title={`Delete “${editing.experiment.name}”?`}
          submitLabel="Delete"
          danger
          onClose={() => setEditing(undefined)}
          onSubmit={async () => {
            await deleteExperiment(editing.experiment.experiment_id);
            page.reload();
          }}
        >
          <p class="muted">
            The experiment and its runs move to the trash. `keel gc` removes them for good; until then they can be restored
            with the client.
          </p>
        </Dialog>
      )}
    </section>
  );
}

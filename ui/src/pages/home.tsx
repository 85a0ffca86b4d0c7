//! Home: the experiments list with a name search, create, rename and delete.
import { useState } from 'preact/hooks';
import { createExperiment, deleteExperiment, renameExperiment, searchExperiments } from '../api/experiments';
import type { Experiment } from '../api/types';
import { Dialog } from '../components/Dialog';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href, location, navigate, setQueryParam } from '../router';

type Editing = { kind: 'create' } | { kind: 'rename' | 'delete'; experiment: Experiment };

const FIRST_RUN = `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.set_experiment("my-experiment")
with mlflow.start_run():
    mlflow.log_param("lr", 0.01)
    mlflow.log_metric("loss", 0.42)`;

export default function HomePage() {
  useTitle('Experiments');
  const query = location.value.query.get('q') ?? '';
  const [text, setText] = useState(query);
  const [extra, setExtra] = useState<{ items: Experiment[]; token?: string }>({ items: [] });
  const [editing, setEditing] = useState<Editing>();
  const page = useAsync(
    async (signal) => {
      const body = await searchExperiments(query, undefined, signal);
      setExtra({ items: [], token: body.next_page_token });
      return body.experiments ?? [];
    },
    [query],
  );
  const experiments = [...(page.data ?? []), ...extra.items];

  const loadMore = async () => {
    const body = await searchExperiments(query, extra.token);
    setExtra({ items: [...extra.items, ...(body.experiments ?? [])], token: body.next_page_token });
  };

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
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQueryParam('q', text.trim() || undefined);
        }}
      >
        <input
          class="search"
          type="search"
          data-search
          placeholder="Search experiments by name (press / to focus)"
          aria-label="Search experiments"
          value={text}
          onInput={(e) => {
            const value = (e.target as HTMLInputElement).value;
            setText(value);
            setQueryParam('q', value.trim() || undefined);
          }}
        />
      </form>
      {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
      {page.loading && !page.data ? (
        <Loading />
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
                  <button type="button" class="link" onClick={() => setEditing({ kind: 'rename', experiment: exp })}>
                    Rename
                  </button>
                  <button type="button" class="link danger" onClick={() => setEditing({ kind: 'delete', experiment: exp })}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {extra.token && (
        <div class="toolbar" style={{ marginTop: 12 }}>
          <button type="button" onClick={loadMore}>
            Load more
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

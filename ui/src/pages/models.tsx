//! Registered models: a searchable list with each model's latest version, aliases and last change.
import { latestVersion, searchModels } from '../api/registry';
import { Time } from '../components/Time';
import { useTitle } from '../lib/title';
import { href } from '../router';
import { AliasBadges } from './registry/badges';
import { RegistryList } from './registry/list';
import '../styles/registry.css';

const FIRST_MODEL = `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
with mlflow.start_run():
    info = mlflow.sklearn.log_model(model, name="model")
mlflow.register_model(info.model_uri, "my-model")`;

export default function ModelsPage() {
  useTitle('Models');
  return (
    <section>
      <div class="page-header">
        <h1>Registered models</h1>
      </div>
      <RegistryList
        noun="models"
        search={searchModels}
        firstOne={{ text: 'Register a logged model with the MLflow client:', code: FIRST_MODEL }}
        columns={[
          { title: 'Name', cell: (m) => <a href={href(['models', m.name])}>{m.name}</a> },
          {
            title: 'Latest version',
            cell: (m) => {
              const v = latestVersion(m);
              return v ? <a href={href(['models', m.name, 'versions', v])}>Version {v}</a> : <span class="muted">—</span>;
            },
          },
          {
            title: 'Aliases',
            cell: (m) => <AliasBadges aliases={m.aliases ?? []} linkTo={(v) => href(['models', m.name, 'versions', v])} />,
          },
          { title: 'Description', cell: (m) => <span class="clip muted">{m.description}</span> },
          { title: 'Last modified', cell: (m) => <Time value={m.last_updated_timestamp} /> },
        ]}
      />
    </section>
  );
}

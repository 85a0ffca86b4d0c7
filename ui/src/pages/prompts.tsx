//! Prompts: the registry's prompt entries (registered models tagged as prompts), searchable, with
//! each prompt's latest version, its commit message and aliases.
import { latestVersion, searchPrompts } from '../api/registry';
import { Time } from '../components/Time';
import { useTitle } from '../lib/title';
import { href } from '../router';
import { AliasBadges } from './registry/badges';
import { RegistryList } from './registry/list';
import '../styles/registry.css';

const FIRST_PROMPT = `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.genai.register_prompt(
    name="my-prompt",
    template="Answer the question: {{question}}",
    commit_message="first version",
)`;

export default function PromptsPage() {
  useTitle('Prompts');
  return (
    <section>
      <div class="page-header">
        <h1>Prompts</h1>
      </div>
      <RegistryList
        noun="prompts"
        search={searchPrompts}
        firstOne={{ text: 'Register a prompt template with the MLflow client:', code: FIRST_PROMPT }}
        columns={[
          { title: 'Name', cell: (p) => <a href={href(['prompts', p.name])}>{p.name}</a> },
          {
            title: 'Latest version',
            cell: (p) => {
              const v = latestVersion(p);
              return v ? <a href={href(['prompts', p.name], { v })}>Version {v}</a> : <span class="muted">—</span>;
            },
          },
          {
            title: 'Commit message',
            cell: (p) => {
              const v = latestVersion(p);
              return <span class="clip muted">{p.latest_versions?.find((x) => x.version === v)?.description}</span>;
            },
          },
          {
            title: 'Aliases',
            cell: (p) => <AliasBadges aliases={p.aliases ?? []} linkTo={(v) => href(['prompts', p.name], { v })} />,
          },
          { title: 'Last modified', cell: (p) => <Time value={p.last_updated_timestamp} /> },
        ]}
      />
    </section>
  );
}

//! A prompt: its versions (commit message, aliases), the selected version's template (text, or chat
//! messages), and a line diff between two versions. `?v=` selects a version, `?compare=` the other.
import type { ModelVersion } from '../api/types';
import { getModel, isSystemTag, listVersions, tagOf } from '../api/registry';
import { AccessCard } from '../components/AccessCard';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { diffLines, diffStats, type DiffLine } from '../lib/diff';
import { useLevel } from '../lib/permissions';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href, location, setQueryParam } from '../router';
import { AliasBadges } from './registry/badges';
import { AliasEditor } from './registry/editors';
import { templateLines, templateOf, type Template } from './registry/template';
import '../styles/registry.css';

export default function PromptPage({ name }: { name: string }) {
  useTitle(name, 'Prompts');
  const prompt = useAsync((signal) => getModel(name, signal), [name]);
  const versions = useAsync((signal) => listVersions(name, signal, true), [name]);
  const query = location.value.query;
  const list = versions.data ?? [];
  const selected = list.find((v) => v.version === query.get('v')) ?? list[0];
  const other = list.find((v) => v.version === query.get('compare') && v.version !== selected?.version);
  const aliases = prompt.data?.aliases ?? [];
  const level = useLevel('prompt', prompt.data ? name : undefined);
  const versionLink = (v: string) => href(['prompts', name], { v });
  const reload = () => {
    prompt.reload();
    versions.reload();
  };

  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/prompts">Prompts</a>
        <span>{name}</span>
      </div>
      <div class="page-header">
        <h1>{name}</h1>
        {aliases.length > 0 && <AliasBadges aliases={aliases} linkTo={versionLink} />}
      </div>
      {prompt.error && <ErrorBanner error={prompt.error} onRetry={prompt.reload} />}
      {versions.error && <ErrorBanner error={versions.error} onRetry={versions.reload} />}
      {!versions.data && !versions.error && !prompt.error ? (
        <Loading />
      ) : versions.data && list.length === 0 ? (
        <EmptyState title="This prompt has no versions">
          <p>Register a version with the MLflow client:</p>
          <Snippet code={`mlflow.genai.register_prompt(name=${JSON.stringify(name)}, template="...", commit_message="...")`} />
        </EmptyState>
      ) : (
        selected && (
          <div class="prompt-layout">
            <nav class="prompt-versions" aria-label="Versions">
              <h2 class="sr-only">Versions</h2>
              <ul>
                {list.map((v) => (
                  <li key={v.version}>
                    <a
                      href={href(['prompts', name], { v: v.version, compare: other?.version })}
                      aria-current={v.version === selected.version ? 'true' : undefined}
                      data-version={v.version}
                    >
                      <span class="prompt-version-head">
                        <strong>Version {v.version}</strong>
                        <Time value={v.creation_timestamp} />
                      </span>
                      <span class="prompt-version-message">{v.description || <em class="muted">no commit message</em>}</span>
                      {aliases.some((a) => a.version === v.version) && (
                        <AliasBadges aliases={aliases.filter((a) => a.version === v.version).map((a) => ({ alias: a.alias }))} />
                      )}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="prompt-detail">
              <VersionView
                version={selected}
                other={other}
                versions={list}
                aliasesOf={(v) => aliases.filter((a) => a.version === v).map((a) => ({ alias: a.alias }))}
              />
              <div class="prompt-side">
                <section class="card" aria-label="Aliases">
                  <h3>Aliases</h3>
                  <AliasEditor
                    readOnly={!level?.can_update}
                    model={name}
                    aliases={aliases}
                    versions={list.map((v) => v.version)}
                    onChange={reload}
                    linkTo={versionLink}
                  />
                </section>
                <section class="card" aria-label="Use it">
                  <h3>Use it</h3>
                  <pre class="block">{`import mlflow
prompt = mlflow.genai.load_prompt(
    ${JSON.stringify(`prompts:/${name}/${selected.version}`)}
)
text = prompt.format(...)`}</pre>
                </section>
                {level?.can_manage && <AccessCard resourceType="prompt" resourceId={name} noun="prompt" />}
              </div>
            </div>
          </div>
        )
      )}
    </section>
  );
}

interface VersionViewProps {
  version: ModelVersion;
  other?: ModelVersion;
  versions: ModelVersion[];
  aliasesOf: (version: string) => { alias: string }[];
}

function VersionView({ version, other, versions, aliasesOf }: VersionViewProps) {
  const template = templateOf(version);
  const tags = (version.tags ?? []).filter((t) => !isSystemTag(t.key));
  const modelConfig = tagOf(version.tags, '_mlflow_prompt_model_config');
  const responseFormat = tagOf(version.tags, '_mlflow_prompt_response_format');
  return (
    <article class="prompt-version" aria-label={`Version ${version.version}`}>
      <header class="prompt-version-header">
        <h2>Version {version.version}</h2>
        {aliasesOf(version.version).length > 0 && <AliasBadges aliases={aliasesOf(version.version)} />}
        <span class="muted">
          <Time value={version.creation_timestamp} />
          {version.user_id ? ` by ${version.user_id}` : ''}
        </span>
      </header>
      <p class="commit-message">
        <span class="muted">Commit message: </span>
        {version.description || <em class="muted">none</em>}
      </p>
      <div class="toolbar">
        {versions.length > 1 && (
          <label class="compare">
            <span class="muted">Compare with</span>
            <select
              aria-label="Compare with"
              value={other?.version ?? ''}
              onChange={(e) => setQueryParam('compare', (e.target as HTMLSelectElement).value || undefined)}
            >
              <option value="">— no comparison —</option>
              {versions
                .filter((v) => v.version !== version.version)
                .map((v) => (
                  <option key={v.version} value={v.version}>
                    Version {v.version}
                    {v.description ? ` — ${v.description.slice(0, 40)}` : ''}
                  </option>
                ))}
            </select>
          </label>
        )}
        <span class="muted template-kind">{template.kind === 'chat' ? 'Chat prompt' : 'Text prompt'}</span>
      </div>
      {other ? <VersionDiff a={version} b={other} /> : <TemplateView template={template} />}
      {(modelConfig || responseFormat) && (
        <div class="prompt-config">
          {modelConfig && <JsonBlock title="Model configuration" text={modelConfig} />}
          {responseFormat && <JsonBlock title="Response format" text={responseFormat} />}
        </div>
      )}
      {tags.length > 0 && (
        <>
          <h3>Tags</h3>
          <table class="kv prompt-tags" aria-label="Version tags">
            <tbody>
              {tags.map((t) => (
                <tr key={t.key}>
                  <td>{t.key}</td>
                  <td>{t.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </article>
  );
}

function TemplateView({ template }: { template: Template }) {
  if (template.kind === 'text') {
    return (
      <pre class="block prompt-template" aria-label="Template">
        <Highlighted text={template.text} />
      </pre>
    );
  }
  return (
    <ol class="chat-messages" aria-label="Template messages">
      {template.messages.map((m, i) => (
        <li key={i} class={`chat-message role-${m.role.replace(/[^a-z]/gi, '')}`}>
          <div class="chat-role">{m.role}</div>
          <div class="chat-content">
            <Highlighted text={m.content} />
          </div>
        </li>
      ))}
    </ol>
  );
}

/** Template text with `{{variables}}` marked. */
function Highlighted({ text }: { text: string }) {
  const parts = text.split(/(\{\{\s*[\w.-]+\s*\}\})/g);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <mark key={i} class="template-var">
            {part}
          </mark>
        ) : (
          part
        ),
      )}
    </>
  );
}

function VersionDiff({ a, b }: { a: ModelVersion; b: ModelVersion }) {
  // Always from the older version to the newer one.
  const [from, to] = Number(a.version) < Number(b.version) ? [a, b] : [b, a];
  const lines = diffLines(templateLines(templateOf(from)), templateLines(templateOf(to)));
  const stats = diffStats(lines);
  const title = `Changes from version ${from.version} to version ${to.version}`;
  return (
    <section class="prompt-diff" aria-label={title}>
      <div class="diff-summary">
        <strong>{title}</strong>
        <span class="diff-stat added">
          {stats.added} {stats.added === 1 ? 'line' : 'lines'} added
        </span>
        <span class="diff-stat removed">
          {stats.removed} {stats.removed === 1 ? 'line' : 'lines'} removed
        </span>
      </div>
      {stats.added + stats.removed === 0 ? (
        <p class="muted">The two templates are the same.</p>
      ) : (
        <ol class="diff" aria-label="Line diff">
          {lines.map((line, i) => (
            <DiffRow key={i} line={line} />
          ))}
        </ol>
      )}
    </section>
  );
}

const MARK: Record<DiffLine['kind'], [string, string]> = {
  same: [' ', 'unchanged'],
  added: ['+', 'added'],
  removed: ['-', 'removed'],
};

function DiffRow({ line }: { line: DiffLine }) {
  const [mark, label] = MARK[line.kind];
  const text = line.text === '' ? '\u00a0' : line.text;
  return (
    <li class={`diff-line ${line.kind}`}>
      <span class="diff-no" aria-hidden="true">
        {line.oldLine ?? ''}
      </span>
      <span class="diff-no" aria-hidden="true">
        {line.newLine ?? ''}
      </span>
      <span class="diff-mark" aria-hidden="true">
        {mark}
      </span>
      <span class="sr-only">{label}: </span>
      {line.kind === 'added' ? <ins>{text}</ins> : line.kind === 'removed' ? <del>{text}</del> : <span>{text}</span>}
    </li>
  );
}

function JsonBlock({ title, text }: { title: string; text: string }) {
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // shown as stored
  }
  return (
    <div>
      <h3>{title}</h3>
      <pre class="block">{shown}</pre>
    </div>
  );
}

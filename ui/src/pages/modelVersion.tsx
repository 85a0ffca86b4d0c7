//! One model version: stage, aliases, where it came from (source, run, logged model),
//! description and tags, with edits for each.
import {
  PROMPT_TAG,
  deleteVersionTag,
  getModel,
  getVersion,
  listVersions,
  loggedModelId,
  setVersionTag,
  tagOf,
  updateVersionDescription,
} from '../api/registry';
import { HistoryLink } from '../components/HistoryLink';
import { ErrorBanner, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { useLevel } from '../lib/permissions';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href } from '../router';
import { StageBadge } from './registry/badges';
import { AliasEditor, Description, StageSelect, TagEditor } from './registry/editors';
import { LoggedModelLink, RunLink } from './registry/links';
import '../styles/registry.css';

export default function ModelVersionPage({ name, version }: { name: string; version: string }) {
  useTitle(`${name} v${version}`, 'Models');
  const mv = useAsync((signal) => getVersion(name, version, signal), [name, version]);
  const model = useAsync((signal) => getModel(name, signal), [name]);
  const versions = useAsync((signal) => listVersions(name, signal), [name]);
  const reload = () => {
    mv.reload();
    model.reload();
  };
  const v = mv.data;
  const modelId = v ? loggedModelId(v) : undefined;
  const isPrompt = model.data ? tagOf(model.data.tags, PROMPT_TAG) === 'true' : false;
  const level = useLevel(isPrompt ? 'prompt' : 'registered_model', model.data ? name : undefined);
  const readOnly = !level?.can_update;
  const versionLink = (n: string) => href(['models', name, 'versions', n]);

  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/models">Models</a>
        <a href={href(['models', name])}>{name}</a>
        <span>Version {version}</span>
      </div>
      <div class="page-header">
        <h1>
          {name} <span class="muted">version {version}</span>
        </h1>
        {v?.current_stage && v.current_stage !== 'None' && <StageBadge stage={v.current_stage} />}
        {v?.status && v.status !== 'READY' && <span class="badge error">{v.status.toLowerCase()}</span>}
        <div class="actions">
          <HistoryLink kind="ModelVersion" id={`${name}/${version}`} noun="model version" />
        </div>
      </div>
      {mv.error && <ErrorBanner error={mv.error} onRetry={mv.reload} />}
      {!v && !mv.error && <Loading />}
      {v && (
        <div class="registry-layout">
          <div class="registry-main">
            <Description
              readOnly={readOnly}
              text={v.description}
              placeholder="No description. Say what changed in this version."
              label="version description"
              onSave={async (text) => {
                await updateVersionDescription(name, version, text);
                mv.reload();
              }}
            />
            <h2>Source</h2>
            <table class="kv version-details" aria-label="Version details">
              <tbody>
                <tr>
                  <td>Source run</td>
                  <td>
                    <RunLink runId={v.run_id || undefined} />
                  </td>
                </tr>
                <tr>
                  <td>Logged model</td>
                  <td>
                    <LoggedModelLink modelId={modelId} />
                  </td>
                </tr>
                <tr>
                  <td>Source URI</td>
                  <td class="mono">{v.source || '—'}</td>
                </tr>
                <tr>
                  <td>Stage</td>
                  <td>
                    <StageSelect model={name} version={version} stage={v.current_stage} onChange={reload} readOnly={readOnly} />
                  </td>
                </tr>
                <tr>
                  <td>Status</td>
                  <td>
                    {v.status ?? '—'}
                    {v.status_message ? ` — ${v.status_message}` : ''}
                  </td>
                </tr>
                <tr>
                  <td>Created</td>
                  <td>
                    <Time value={v.creation_timestamp} />
                    {v.user_id ? ` by ${v.user_id}` : ''}
                  </td>
                </tr>
                <tr>
                  <td>Last modified</td>
                  <td>
                    <Time value={v.last_updated_timestamp} />
                  </td>
                </tr>
              </tbody>
            </table>
            <h2>Use it</h2>
            <pre class="block">{`import mlflow
model = mlflow.pyfunc.load_model(${JSON.stringify(`models:/${name}/${version}`)})`}</pre>
          </div>
          <aside class="registry-aside">
            <section class="card" aria-label="Aliases">
              <h3>Aliases</h3>
              <AliasEditor
                readOnly={readOnly}
                model={name}
                aliases={model.data?.aliases ?? (v.aliases ?? []).map((alias) => ({ alias, version }))}
                versions={(versions.data ?? []).map((x) => x.version)}
                fixedVersion={version}
                onChange={reload}
                linkTo={versionLink}
              />
            </section>
            <section class="card" aria-label="Tags">
              <h3>Tags</h3>
              <TagEditor
                readOnly={readOnly}
                owner={`version ${version}`}
                tags={v.tags}
                onSet={async (key, value) => {
                  await setVersionTag(name, version, key, value);
                  mv.reload();
                }}
                onDelete={async (key) => {
                  await deleteVersionTag(name, version, key);
                  mv.reload();
                }}
              />
            </section>
            {versions.data && versions.data.length > 1 && (
              <section class="card" aria-label="Other versions">
                <h3>Other versions</h3>
                <ul class="plain-list">
                  {versions.data
                    .filter((x) => x.version !== version)
                    .slice(0, 10)
                    .map((x) => (
                      <li key={x.version}>
                        <a href={versionLink(x.version)}>Version {x.version}</a>{' '}
                        {x.current_stage && x.current_stage !== 'None' && <StageBadge stage={x.current_stage} />}
                      </li>
                    ))}
                </ul>
              </section>
            )}
          </aside>
        </div>
      )}
    </section>
  );
}

//! A registered model: description, versions (stage, aliases, source run, logged model), aliases
//! and tags, with edits for each.
import {
  PROMPT_TAG,
  aliasesOf,
  deleteModelTag,
  getModel,
  listVersions,
  loggedModelId,
  setModelTag,
  tagOf,
  updateModelDescription,
} from '../api/registry';
import { AccessCard } from '../components/AccessCard';
import { HistoryLink } from '../components/HistoryLink';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { useLevel } from '../lib/permissions';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href } from '../router';
import { AliasBadges } from './registry/badges';
import { AliasEditor, Description, StageSelect, TagEditor } from './registry/editors';
import { LoggedModelLink, RunLink } from './registry/links';
import '../styles/registry.css';

export default function ModelPage({ name }: { name: string }) {
  useTitle(name, 'Models');
  const model = useAsync((signal) => getModel(name, signal), [name]);
  const versions = useAsync((signal) => listVersions(name, signal), [name]);
  const reload = () => {
    model.reload();
    versions.reload();
  };
  const m = model.data;
  const list = versions.data ?? [];
  // A prompt shown here is governed by prompt grants.
  const isPrompt = m ? tagOf(m.tags, PROMPT_TAG) === 'true' : false;
  const resourceType = isPrompt ? 'prompt' : 'registered_model';
  const level = useLevel(resourceType, m ? name : undefined);
  const readOnly = !level?.can_update;
  const versionLink = (v: string) => href(['models', name, 'versions', v]);

  return (
    <section>
      <div class="breadcrumbs">
        <a href="#/models">Models</a>
        <span>{name}</span>
      </div>
      <div class="page-header">
        <h1>{name}</h1>
        {m && <AliasBadges aliases={m.aliases ?? []} linkTo={versionLink} />}
        <div class="actions">
          <HistoryLink kind="RegisteredModel" id={name} noun="model" />
        </div>
      </div>
      {model.error && <ErrorBanner error={model.error} onRetry={model.reload} />}
      {!m && !model.error && <Loading />}
      {m && (
        <div class="registry-layout">
          <div class="registry-main">
            {tagOf(m.tags, PROMPT_TAG) === 'true' && (
              <p class="banner">
                This is a prompt. <a href={href(['prompts', name])}>Open it on the prompts page</a> to see its templates.
              </p>
            )}
            <Description
              readOnly={readOnly}
              text={m.description}
              placeholder="No description. Add one to say what this model is for."
              label="model description"
              onSave={async (text) => {
                await updateModelDescription(name, text);
                model.reload();
              }}
            />
            <h2>
              Versions <span class="muted count">{versions.data ? list.length : ''}</span>
            </h2>
            {versions.error && <ErrorBanner error={versions.error} onRetry={versions.reload} />}
            {!versions.data && !versions.error ? (
              <Loading />
            ) : list.length === 0 ? (
              <EmptyState title="No versions yet">
                <p>Register a logged model as a new version of this model:</p>
                <Snippet code={`mlflow.register_model("models:/<model_id>", ${JSON.stringify(name)})`} />
              </EmptyState>
            ) : (
              <table class="grid versions" aria-label="Versions">
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Stage</th>
                    <th>Aliases</th>
                    <th>Source run</th>
                    <th>Logged model</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => (
                    <tr key={v.version} data-version={v.version}>
                      <td>
                        <a href={versionLink(v.version)}>Version {v.version}</a>
                      </td>
                      <td>
                        <StageSelect
                          model={name}
                          version={v.version}
                          stage={v.current_stage}
                          onChange={reload}
                          readOnly={readOnly}
                        />
                      </td>
                      <td>
                        <AliasBadges aliases={aliasesOf(m, v.version).map((alias) => ({ alias }))} />
                      </td>
                      <td>
                        <RunLink runId={v.run_id || undefined} />
                      </td>
                      <td>
                        <LoggedModelLink modelId={loggedModelId(v)} />
                      </td>
                      <td>
                        <Time value={v.creation_timestamp} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <aside class="registry-aside">
            <section class="card" aria-label="Details">
              <h3>Details</h3>
              <table class="kv">
                <tbody>
                  <tr>
                    <td>Created</td>
                    <td>
                      <Time value={m.creation_timestamp} />
                    </td>
                  </tr>
                  <tr>
                    <td>Last modified</td>
                    <td>
                      <Time value={m.last_updated_timestamp} />
                    </td>
                  </tr>
                  {m.user_id && (
                    <tr>
                      <td>Created by</td>
                      <td>{m.user_id}</td>
                    </tr>
                  )}
                </tbody>
              </table>
            </section>
            <section class="card" aria-label="Aliases">
              <h3>Aliases</h3>
              <AliasEditor
                readOnly={readOnly}
                model={name}
                aliases={m.aliases ?? []}
                versions={list.map((v) => v.version)}
                onChange={reload}
                linkTo={versionLink}
              />
            </section>
            <section class="card" aria-label="Tags">
              <h3>Tags</h3>
              <TagEditor
                readOnly={readOnly}
                owner="model"
                tags={m.tags}
                onSet={async (key, value) => {
                  await setModelTag(name, key, value);
                  model.reload();
                }}
                onDelete={async (key) => {
                  await deleteModelTag(name, key);
                  model.reload();
                }}
              />
            </section>
            {level?.can_manage && <AccessCard resourceType={resourceType} resourceId={name} noun={isPrompt ? 'prompt' : 'model'} />}
          </aside>
        </div>
      )}
    </section>
  );
}

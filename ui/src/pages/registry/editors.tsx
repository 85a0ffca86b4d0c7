//! The registry's edit controls: tags, aliases, a version's stage and descriptions. Each calls the
//! API, shows the server's error where the edit happened, and lets the page reload on success;
//! `readOnly` shows the values alone, for users who may not change them.
import { useState } from 'preact/hooks';
import { STAGES, deleteAlias, isSystemTag, setAlias, transitionStage } from '../../api/registry';
import type { KeyValue } from '../../api/types';
import { Dialog } from '../../components/Dialog';
import { ErrorBanner } from '../../components/Status';

/** Runs an edit, keeping its error for display. */
function useEdit() {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const run = async (edit: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await edit();
      return true;
    } catch (err) {
      setError(err as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

export interface TagEditorProps {
  tags: KeyValue[] | undefined;
  onSet: (key: string, value: string) => Promise<unknown>;
  onDelete: (key: string) => Promise<unknown>;
  /** What the tags belong to, for labels: "model", "version 2". */
  owner: string;
  readOnly?: boolean;
}

export function TagEditor({ tags, onSet, onDelete, owner, readOnly }: TagEditorProps) {
  const shown = (tags ?? []).filter((t) => !isSystemTag(t.key));
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const edit = useEdit();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await edit.run(() => onSet(key.trim(), value))) {
      setKey('');
      setValue('');
    }
  };
  return (
    <div class="tag-editor">
      {shown.length === 0 ? (
        <p class="muted">No tags on this {owner}.</p>
      ) : (
        <table class="kv tags" aria-label={`Tags of the ${owner}`}>
          <tbody>
            {shown.map((t) => (
              <tr key={t.key} data-tag={t.key}>
                <td>{t.key}</td>
                <td>{t.value}</td>
                {!readOnly && (
                  <td class="row-actions">
                    <button
                      type="button"
                      class="link"
                      aria-label={`Edit tag ${t.key}`}
                      onClick={() => {
                        setKey(t.key);
                        setValue(t.value);
                      }}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      class="link danger"
                      aria-label={`Delete tag ${t.key}`}
                      disabled={edit.busy}
                      onClick={() => edit.run(() => onDelete(t.key))}
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readOnly && (
        <form class="tag-form" onSubmit={submit} aria-label={`Set a tag on the ${owner}`}>
          <input aria-label="Tag key" placeholder="key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
          <input
            aria-label="Tag value"
            placeholder="value"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={edit.busy || !key.trim()}>
            Set tag
          </button>
        </form>
      )}
      {edit.error && <ErrorBanner error={edit.error} />}
    </div>
  );
}

export interface AliasEditorProps {
  model: string;
  aliases: { alias: string; version: string }[];
  /** The versions an alias may point at, newest first. */
  versions: string[];
  /** On a version's page: new aliases point at this version. */
  fixedVersion?: string;
  onChange: () => void;
  /** 'models' or 'prompts', for the alias links. */
  linkTo?: (version: string) => string;
  readOnly?: boolean;
}

export function AliasEditor({ model, aliases, versions, fixedVersion, onChange, linkTo, readOnly }: AliasEditorProps) {
  const [adding, setAdding] = useState(false);
  const [alias, setAliasName] = useState('');
  const [picked, setVersion] = useState('');
  const version = fixedVersion ?? (picked || versions[0] || '');
  const edit = useEdit();
  const shown = fixedVersion ? aliases.filter((a) => a.version === fixedVersion) : aliases;
  return (
    <div class="alias-editor">
      {shown.length === 0 ? (
        <p class="muted">No aliases{fixedVersion ? ' point at this version' : ''}.</p>
      ) : (
        <ul class="alias-chips" aria-label="Aliases">
          {shown.map((a) => (
            <li key={a.alias} class="alias-chip" data-alias={a.alias}>
              {linkTo ? (
                <a class="badge alias" href={linkTo(a.version)}>
                  @{a.alias} → v{a.version}
                </a>
              ) : (
                <span class="badge alias">
                  @{a.alias} → v{a.version}
                </span>
              )}
              {!readOnly && (
                <button
                  type="button"
                  class="link danger"
                  aria-label={`Remove alias ${a.alias}`}
                  title={`Remove alias ${a.alias}`}
                  disabled={edit.busy}
                  onClick={async () => {
                    if (await edit.run(() => deleteAlias(model, a.alias))) onChange();
                  }}
                >
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <button type="button" onClick={() => setAdding(true)} disabled={versions.length === 0}>
          Add alias
        </button>
      )}
      {edit.error && <ErrorBanner error={edit.error} />}
      {adding && (
        <Dialog
          title={fixedVersion ? `Add an alias to version ${fixedVersion}` : 'Add an alias'}
          submitLabel="Set alias"
          onClose={() => {
            setAdding(false);
            setAliasName('');
          }}
          onSubmit={async () => {
            const name = alias.trim();
            if (!name) throw new Error('Enter a name for the alias.');
            await setAlias(model, name, version);
            onChange();
          }}
        >
          <label>
            <div class="muted">Alias</div>
            <input
              name="alias"
              value={alias}
              autoFocus
              placeholder="champion"
              onInput={(e) => setAliasName((e.target as HTMLInputElement).value)}
              style={{ width: '100%' }}
            />
          </label>
          {!fixedVersion && (
            <label>
              <div class="muted">Version</div>
              <select name="version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option key={v} value={v}>
                    Version {v}
                  </option>
                ))}
              </select>
            </label>
          )}
          <p class="muted hint">An alias points at one version; setting an existing alias moves it.</p>
        </Dialog>
      )}
    </div>
  );
}

export interface StageSelectProps {
  model: string;
  version: string;
  stage: string | undefined;
  onChange: () => void;
  readOnly?: boolean;
}

/** A version's stage: choosing another one asks for confirmation, then transitions. */
export function StageSelect({ model, version, stage, onChange, readOnly }: StageSelectProps) {
  const current = stage || 'None';
  const [target, setTarget] = useState<string>();
  const [archive, setArchive] = useState(false);
  if (readOnly) {
    return (
      <span class={`badge stage stage-${current.toLowerCase()}`} aria-label={`Stage of version ${version}`}>
        {current}
      </span>
    );
  }
  return (
    <>
      <select
        class={`stage-select stage-${current.toLowerCase()}`}
        aria-label={`Stage of version ${version}`}
        value={current}
        onChange={(e) => {
          const el = e.target as HTMLSelectElement;
          const next = el.value;
          el.value = current;
          if (next !== current) setTarget(next);
        }}
      >
        {STAGES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      {target && (
        <Dialog
          title={`Move version ${version} to ${target}?`}
          submitLabel="Transition"
          onClose={() => {
            setTarget(undefined);
            setArchive(false);
          }}
          onSubmit={async () => {
            await transitionStage(model, version, target, archive);
            onChange();
          }}
        >
          <p class="muted">
            From <strong>{current}</strong> to <strong>{target}</strong>. Stages are deprecated in MLflow in favour of aliases,
            but still work.
          </p>
          {(target === 'Production' || target === 'Staging') && (
            <label class="check">
              <input type="checkbox" checked={archive} onChange={(e) => setArchive((e.target as HTMLInputElement).checked)} />
              Archive the other versions now in {target}
            </label>
          )}
        </Dialog>
      )}
    </>
  );
}

export interface DescriptionProps {
  text: string | undefined;
  onSave: (text: string) => Promise<unknown>;
  /** Shown when there is no description. */
  placeholder: string;
  label: string;
  readOnly?: boolean;
}

/** A description with an inline editor (a textarea, saved with Save or Ctrl+Enter). */
export function Description({ text, onSave, placeholder, label, readOnly }: DescriptionProps) {
  const [draft, setDraft] = useState<string>();
  const edit = useEdit();
  const save = async () => {
    if (draft !== undefined && (await edit.run(() => onSave(draft)))) setDraft(undefined);
  };
  if (draft === undefined) {
    return (
      <div class="description">
        {text ? <p class="description-text">{text}</p> : <p class="muted">{readOnly ? 'No description.' : placeholder}</p>}
        {!readOnly && (
          <button type="button" class="link" onClick={() => setDraft(text ?? '')} aria-label={`Edit ${label}`}>
            Edit
          </button>
        )}
      </div>
    );
  }
  return (
    <div class="description editing">
      <textarea
        aria-label={label}
        value={draft}
        rows={4}
        autoFocus
        onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) save();
        }}
      />
      <div class="buttons">
        <button type="button" onClick={() => setDraft(undefined)}>
          Cancel
        </button>
        <button type="button" class="primary" disabled={edit.busy} onClick={save}>
          Save
        </button>
      </div>
      {edit.error && <ErrorBanner error={edit.error} />}
    </div>
  );
}

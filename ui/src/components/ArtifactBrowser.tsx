//! The artifact browser of a run or a logged model: a lazily loaded tree of folders and files
//! (keyboard: arrows, Home/End, Enter) beside a preview of the selected file. The selection lives
//! in the hash route (`hrefFor`), so deep links open a file. A run's tree also lists the logged
//! models (MLflow 3) the run produced, under `~models/<model_id>/…`.
import type { JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { listArtifacts, type ArtifactSource } from '../api/artifacts';
import { loggedModelsOfRun } from '../api/loggedModels';
import { bytes } from '../lib/format';
import { navigate } from '../router';
import { Preview } from './artifacts/Preview';
import { EmptyState, ErrorBanner, Loading, Snippet } from './Status';
import '../styles/artifacts.css';

export type { ArtifactSource } from '../api/artifacts';

export interface ArtifactBrowserProps {
  source: ArtifactSource;
  /** The selected file or folder, relative to the artifact root. */
  path?: string;
  /** The route that selects a path. */
  hrefFor: (path: string) => string;
}

/** The folder under which a run's tree shows its logged models. */
const MODELS = '~models';

interface Node {
  /** The path in the tree: a path of the source, or `~models/<id>/<path>` for a run's model. */
  key: string;
  name: string;
  dir: boolean;
  size?: number;
  /** Set on a run's logged-model folders. */
  modelId?: string;
}

interface DirState {
  nodes?: Node[];
  error?: Error;
}

type Row =
  | { kind: 'node'; node: Node; level: number; pos: number; count: number }
  | { kind: 'status'; dir: string; level: number; state: 'loading' | 'empty' | 'error'; error?: Error };

export function ArtifactBrowser(props: ArtifactBrowserProps) {
  // A new source starts from a fresh tree.
  return <Browser key={`${props.source.kind}:${props.source.id}`} {...props} />;
}

function Browser({ source, path: rawPath, hrefFor }: ArtifactBrowserProps) {
  const path = (rawPath ?? '').replace(/^\/+|\/+$/g, '');
  const [dirs, setDirs] = useState<Record<string, DirState>>({});
  const [rootUri, setRootUri] = useState<string>();
  const [models, setModels] = useState<Node[] | undefined>(source.kind === 'run' ? undefined : []);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set(ancestors(path)));
  const [focused, setFocused] = useState<string>();
  const requested = useRef(new Set<string>());
  const aborter = useRef(new AbortController());
  const tree = useRef<HTMLDivElement>(null);

  useEffect(() => () => aborter.current.abort(), []);

  const load = useCallback(
    (dir: string) => {
      if (requested.current.has(dir)) return;
      requested.current.add(dir);
      const where = resolve(source, dir);
      listArtifacts(where.source, where.path, aborter.current.signal).then(
        (listing) => {
          if (dir === '') setRootUri(listing.rootUri);
          const nodes = listing.files.map((f) => ({
            key: where.prefix + f.path,
            name: f.path.slice(f.path.lastIndexOf('/') + 1),
            dir: !!f.is_dir,
            size: f.is_dir || f.file_size === undefined ? undefined : Number(f.file_size),
          }));
          setDirs((d) => ({ ...d, [dir]: { nodes } }));
        },
        (error: Error) => {
          if (error.name !== 'AbortError') setDirs((d) => ({ ...d, [dir]: { error } }));
        },
      );
    },
    [source],
  );

  const retry = (dir: string) => {
    requested.current.delete(dir);
    setDirs((d) => {
      const next = { ...d };
      delete next[dir];
      return next;
    });
    load(dir);
  };

  // The root, and for a run the logged models it produced.
  useEffect(() => {
    load('');
    if (source.kind !== 'run') return;
    loggedModelsOfRun(source.experimentId, source.id, aborter.current.signal).then(
        (found) =>
          setModels(
            found.map((m) => ({ key: `${MODELS}/${m.info.model_id}`, name: m.info.name, dir: true, modelId: m.info.model_id })),
          ),
        // Without logged models the run's own files still show.
        (error: Error) => error.name !== 'AbortError' && setModels([]),
      );
  }, [load, source]);

  // A newly selected path opens its folders.
  useEffect(() => {
    const open = ancestors(path);
    setExpanded((e) => (open.every((a) => e.has(a)) ? e : new Set([...e, ...open])));
  }, [path]);

  useEffect(() => {
    expanded.forEach(load);
  }, [expanded, load]);

  const childrenOf = (dir: string): Node[] | undefined => {
    const own = dirs[dir]?.nodes;
    if (dir !== '') return own;
    if (!own && !models) return undefined;
    return [...(own ?? []), ...(models ?? [])];
  };

  const toggle = (key: string) =>
    setExpanded((e) => {
      const next = new Set(e);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const rows: Row[] = [];
  const flatten = (dir: string, level: number) => {
    const nodes = childrenOf(dir) ?? [];
    nodes.forEach((node, i) => {
      rows.push({ kind: 'node', node, level, pos: i + 1, count: nodes.length });
      if (!node.dir || !expanded.has(node.key)) return;
      const state = dirs[node.key];
      if (!state) rows.push({ kind: 'status', dir: node.key, level: level + 1, state: 'loading' });
      else if (state.error) rows.push({ kind: 'status', dir: node.key, level: level + 1, state: 'error', error: state.error });
      else if (state.nodes?.length === 0) rows.push({ kind: 'status', dir: node.key, level: level + 1, state: 'empty' });
      else flatten(node.key, level + 1);
    });
  };
  flatten('', 1);
  const nodeRows = rows.filter((r): r is Extract<Row, { kind: 'node' }> => r.kind === 'node');

  const root = dirs[''];
  if (root?.error && !models?.length) {
    return <ErrorBanner error={root.error} onRetry={() => retry('')} />;
  }
  if (!root || (source.kind === 'run' && !models)) return <Loading label="Loading artifacts…" />;
  if (nodeRows.length === 0) return <NoArtifacts source={source} />;

  const current = focused && nodeRows.some((r) => r.node.key === focused) ? focused : nodeRows.find((r) => r.node.key === path) ? path : nodeRows[0].node.key;

  const focusKey = (key: string | undefined) => {
    if (key === undefined) return;
    tree.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
  };
  const activate = (node: Node) => {
    if (node.dir) toggle(node.key);
    else navigate(hrefFor(node.key));
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const i = nodeRows.findIndex((r) => r.node.key === current);
    const row = nodeRows[i];
    if (!row) return;
    const { node } = row;
    switch (e.key) {
      case 'ArrowDown':
        focusKey(nodeRows[Math.min(i + 1, nodeRows.length - 1)].node.key);
        break;
      case 'ArrowUp':
        focusKey(nodeRows[Math.max(i - 1, 0)].node.key);
        break;
      case 'Home':
        focusKey(nodeRows[0].node.key);
        break;
      case 'End':
        focusKey(nodeRows[nodeRows.length - 1].node.key);
        break;
      case 'ArrowRight':
        if (!node.dir) return;
        if (!expanded.has(node.key)) toggle(node.key);
        else if (nodeRows[i + 1]?.level > row.level) focusKey(nodeRows[i + 1].node.key);
        break;
      case 'ArrowLeft':
        if (node.dir && expanded.has(node.key)) toggle(node.key);
        else focusKey(parentOf(node.key) || undefined);
        break;
      case 'Enter':
      case ' ':
        activate(node);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const parent = parentOf(path);
  const siblings = path ? childrenOf(parent) : undefined;
  const selected = siblings?.find((n) => n.key === path);
  const parentState = dirs[parent];

  return (
    <div class="artifacts">
      <div class="artifact-sidebar">
        <div
          ref={tree}
          class="artifact-tree"
          role="tree"
          aria-label="Artifacts"
          onKeyDown={onKeyDown}
        >
          {rows.map((row) =>
            row.kind === 'node' ? (
              <TreeRow
                key={row.node.key}
                row={row}
                expanded={expanded.has(row.node.key)}
                selected={row.node.key === path}
                tabbable={row.node.key === current}
                onClick={() => activate(row.node)}
                onFocus={() => setFocused(row.node.key)}
              />
            ) : (
              <div key={`${row.dir}/…`} class={`tree-status ${row.state}`} style={indent(row.level)}>
                {row.state === 'loading' && 'Loading…'}
                {row.state === 'empty' && 'Empty folder'}
                {row.state === 'error' && (
                  <>
                    {row.error?.message}{' '}
                    <button type="button" class="link" onClick={() => retry(row.dir)}>
                      Retry
                    </button>
                  </>
                )}
              </div>
            ),
          )}
        </div>
        {rootUri && (
          <div class="artifact-root muted" title={rootUri}>
            Stored at <span class="mono">{rootUri}</span>
          </div>
        )}
      </div>
      <div class="artifact-pane">
        {!path ? (
          <div class="empty artifact-hint">
            <h3>Select a file to preview it</h3>
            <p>Text, JSON, YAML, MLmodel, CSV and images open here; other files can be downloaded.</p>
          </div>
        ) : !siblings ? (
          parentState?.error ? (
            <ErrorBanner error={parentState.error} onRetry={() => retry(parent)} />
          ) : (
            <Loading />
          )
        ) : !selected ? (
          <EmptyState title={`No artifact at “${path}”`}>
            <p>It may have been deleted, or the link is mistyped. Pick a file from the tree.</p>
          </EmptyState>
        ) : selected.dir ? (
          <FolderView node={selected} nodes={childrenOf(selected.key)} hrefFor={hrefFor} />
        ) : (
          <FilePreview source={source} node={selected} hrefFor={hrefFor} />
        )}
      </div>
    </div>
  );
}

function FilePreview({ source, node, hrefFor }: { source: ArtifactSource; node: Node; hrefFor: (path: string) => string }) {
  const where = resolve(source, node.key);
  return (
    <Preview key={node.key} source={where.source} path={where.path} size={node.size} hrefFor={(p) => hrefFor(where.prefix + p)} />
  );
}

function FolderView({ node, nodes, hrefFor }: { node: Node; nodes?: Node[]; hrefFor: (path: string) => string }) {
  return (
    <section class="artifact-preview" aria-label={`Folder ${node.key}`}>
      <header class="artifact-preview-header">
        <div class="artifact-preview-title">
          <h2>{node.name}</h2>
          <span class="badge">{node.modelId ? 'Logged model' : 'Folder'}</span>
        </div>
      </header>
      {node.modelId && (
        <p class="muted">
          Logged model <span class="mono">{node.modelId}</span>, produced by this run.
        </p>
      )}
      {!nodes ? (
        <Loading />
      ) : nodes.length === 0 ? (
        <p class="muted">This folder is empty.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.key}>
                <td>
                  <a href={hrefFor(n.key)}>{n.dir ? `${n.name}/` : n.name}</a>
                </td>
                <td class="num muted">{n.size === undefined ? '' : bytes(n.size)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface TreeRowProps {
  row: Extract<Row, { kind: 'node' }>;
  expanded: boolean;
  selected: boolean;
  tabbable: boolean;
  onClick: () => void;
  onFocus: () => void;
}

function TreeRow({ row, expanded, selected, tabbable, onClick, onFocus }: TreeRowProps) {
  const { node } = row;
  return (
    <div
      role="treeitem"
      class={`tree-row${selected ? ' selected' : ''}`}
      data-key={node.key}
      aria-level={row.level}
      aria-posinset={row.pos}
      aria-setsize={row.count}
      aria-expanded={node.dir ? expanded : undefined}
      aria-selected={selected}
      tabIndex={tabbable ? 0 : -1}
      title={node.modelId ? `Logged model ${node.modelId}` : node.key}
      style={indent(row.level)}
      onClick={onClick}
      onFocus={onFocus}
    >
      <span class="tree-twisty" aria-hidden="true">
        {node.dir ? (expanded ? '▾' : '▸') : ''}
      </span>
      <Icon dir={node.dir} model={!!node.modelId} />
      <span class="tree-name">{node.dir ? `${node.name}/` : node.name}</span>
      {node.modelId && <span class="badge tree-badge">logged model</span>}
      {node.size !== undefined && <span class="tree-size">{bytes(node.size)}</span>}
    </div>
  );
}

function Icon({ dir, model }: { dir: boolean; model: boolean }) {
  const d = model
    ? 'M8 1.5 14 5v6l-6 3.5L2 11V5zM2 5l6 3.5L14 5M8 8.5v6'
    : dir
      ? 'M1.5 3.5h4.5l1.5 1.5h7v8.5h-13z'
      : 'M3.5 1.5h6l3 3v10h-9zM9.5 1.5v3h3';
  return (
    <svg class={`tree-icon${dir ? ' dir' : ''}`} viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d={d} fill="none" stroke="currentColor" stroke-width="1.2" stroke-linejoin="round" />
    </svg>
  );
}

function NoArtifacts({ source }: { source: ArtifactSource }) {
  return source.kind === 'run' ? (
    <EmptyState title="This run has no artifacts">
      <p>Log files, folders or models to the run with the MLflow client:</p>
      <Snippet
        code={`import mlflow
with mlflow.start_run(run_id="${source.id}"):
    mlflow.log_artifact("path/to/report.txt")
    mlflow.log_dict({"precision": 0.9}, "metrics.json")`}
      />
    </EmptyState>
  ) : (
    <EmptyState title="This model has no files">
      <p>The model was created but nothing was saved to it. Logging it with a flavor writes its files:</p>
      <Snippet code={'mlflow.pyfunc.log_model(name="model", python_model=MyModel())'} />
    </EmptyState>
  );
}

const indent = (level: number): JSX.CSSProperties => ({ paddingLeft: `${8 + (level - 1) * 16}px` });

/** Which source and path a tree key reads from, and the prefix that turns its paths into keys. */
function resolve(source: ArtifactSource, key: string): { source: ArtifactSource; path: string; prefix: string } {
  if (source.kind === 'run' && (key === MODELS || key.startsWith(`${MODELS}/`))) {
    const [, id = '', ...rest] = key.split('/');
    return { source: { kind: 'loggedModel', id }, path: rest.join('/'), prefix: `${MODELS}/${id}/` };
  }
  return { source, path: key, prefix: '' };
}

/** The folders above a key, outermost first (`~models/<id>` counts as one folder). */
function ancestors(key: string): string[] {
  const parts = key.split('/').filter(Boolean);
  const first = parts[0] === MODELS ? 2 : 1;
  const out: string[] = [];
  for (let i = first; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

const parentOf = (key: string) => ancestors(key).pop() ?? '';

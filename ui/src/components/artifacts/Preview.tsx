//! The preview of one artifact file: text, pretty JSON, YAML and MLmodel (with a summary), CSV/TSV
//! as a table, images through an object URL, and size plus a download link for anything else.
import { useEffect, useState } from 'preact/hooks';
import { PREVIEW_LIMIT, artifactUrl, readArtifact, type ArtifactSource } from '../../api/artifacts';
import { api } from '../../api/client';
import { bytes } from '../../lib/format';
import { DEFAULT_WORKSPACE, workspace } from '../../lib/workspace';
import { useAsync } from '../../lib/useAsync';
import { ErrorBanner, Loading } from '../Status';
import { parseDelimited, type Table } from './csv';
import { baseName, imageType, kindLabel, looksLikeText, previewKind, type PreviewKind } from './kinds';
import { MlmodelSummary } from './Mlmodel';

/** Rows of a CSV/TSV shown at most. */
const MAX_ROWS = 500;
/** Images larger than this are offered as a download only. */
const MAX_IMAGE = 20 * 1024 * 1024;

type Content =
  | { kind: 'text'; text: string; note?: string }
  | { kind: 'table'; table: Table }
  | { kind: 'image'; url: string }
  | { kind: 'binary'; reason?: string };

interface Loaded {
  content: Content;
  truncated: boolean;
  size?: number;
}

export interface PreviewProps {
  source: ArtifactSource;
  /** The file's path within the source. */
  path: string;
  /** The size the listing reported. */
  size?: number;
  /** A link to another file of the same source (MLmodel's environment files). */
  hrefFor: (path: string) => string;
}

export function Preview({ source, path, size, hrefFor }: PreviewProps) {
  const kind = previewKind(path);
  const state = useAsync((signal) => load(source, path, size, kind, signal), [source.kind, source.id, path, size]);
  const loaded = state.data;
  const url = loaded?.content.kind === 'image' ? loaded.content.url : undefined;
  useEffect(() => () => url?.startsWith('blob:') && URL.revokeObjectURL(url), [url]);
  const name = baseName(path);

  return (
    <section class="artifact-preview" aria-label={`Preview of ${path}`}>
      <header class="artifact-preview-header">
        <div class="artifact-preview-title">
          <h2 title={path}>{name}</h2>
          <span class="badge">{kindLabel(kind, path)}</span>
          {size !== undefined && <span class="muted">{bytes(size)}</span>}
        </div>
        <a
          class="button"
          href={artifactUrl(source, path)}
          download={name}
          onClick={workspace.value === DEFAULT_WORKSPACE ? undefined : (e) => downloadInWorkspace(e, source, path, name)}
        >
          Download
        </a>
      </header>
      {path.includes('/') && <div class="muted artifact-path mono">{path}</div>}
      {state.error && <ErrorBanner error={state.error} onRetry={state.reload} />}
      {state.loading && <Loading label={`Loading ${name}…`} />}
      {!state.loading && loaded && (
        <>
          {loaded.truncated && (
            <p class="artifact-note" role="note">
              Showing the first {bytes(PREVIEW_LIMIT)} of {bytes(loaded.size)}. Download the file to see all of it.
            </p>
          )}
          {kind === 'mlmodel' && loaded.content.kind === 'text' && (
            <MlmodelSummary text={loaded.content.text} dir={path.slice(0, path.length - name.length)} hrefFor={hrefFor} />
          )}
          <Body content={loaded.content} name={name} size={loaded.size} />
        </>
      )}
    </section>
  );
}

function Body({ content, name, size }: { content: Content; name: string; size?: number }) {
  switch (content.kind) {
    case 'text':
      return (
        <>
          {content.note && <p class="artifact-note">{content.note}</p>}
          {content.text === '' ? (
            <p class="muted">This file is empty.</p>
          ) : (
            <pre class="block artifact-text" tabIndex={0}>
              {content.text}
            </pre>
          )}
        </>
      );
    case 'table':
      return <CsvTable table={content.table} />;
    case 'image':
      return <ImageView url={content.url} name={name} />;
    case 'binary':
      return (
        <div class="empty artifact-binary">
          <h3>No preview for this file</h3>
          <p>
            {content.reason ?? 'It is a binary file.'} Size: {bytes(size)}. Use Download above to save it.
          </p>
        </div>
      );
  }
}

function ImageView({ url, name }: { url: string; name: string }) {
  const [size, setSize] = useState<string>();
  return (
    <>
      <div class="artifact-image">
        <img
          src={url}
          alt={name}
          onLoad={(e) => {
            const img = e.currentTarget as HTMLImageElement;
            setSize(`${img.naturalWidth} × ${img.naturalHeight} px`);
          }}
        />
      </div>
      {size && <p class="muted artifact-note-plain image-size">{size}</p>}
    </>
  );
}

function CsvTable({ table }: { table: Table }) {
  const width = Math.max(table.header.length, ...table.rows.map((r) => r.length));
  const columns = Array.from({ length: width }, (_, i) => table.header[i] ?? `column ${i + 1}`);
  return (
    <>
      <p class="muted artifact-note-plain">
        {table.total > table.rows.length
          ? `Showing the first ${table.rows.length} of ${table.total} rows.`
          : `${table.total} ${table.total === 1 ? 'row' : 'rows'}, ${width} ${width === 1 ? 'column' : 'columns'}.`}
      </p>
      <div class="artifact-table" tabIndex={0}>
        <table class="grid" aria-label="Table preview">
          <thead>
            <tr>
              <th class="rownum" aria-label="Row" />
              {columns.map((c, i) => (
                <th key={i}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, r) => (
              <tr key={r}>
                <td class="rownum num muted">{r + 1}</td>
                {columns.map((_, i) => (
                  <td key={i}>{row[i] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** A link cannot carry the workspace header: outside `default`, the file is fetched with it and
 * saved from memory. */
function downloadInWorkspace(e: Event, source: ArtifactSource, path: string, name: string): void {
  e.preventDefault();
  api
    .raw(artifactUrl(source, path))
    .then((response) => response.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    })
    .catch((err: Error) => window.alert(`The download failed: ${err.message}`));
}

async function load(
  source: ArtifactSource,
  path: string,
  size: number | undefined,
  kind: PreviewKind,
  signal: AbortSignal,
): Promise<Loaded> {
  if (kind === 'binary') return { content: { kind: 'binary' }, truncated: false, size };
  if (kind === 'image') {
    if (size !== undefined && size > MAX_IMAGE) {
      return { content: { kind: 'binary', reason: 'The image is too large to preview.' }, truncated: false, size };
    }
    if (imageType(path) === 'image/svg+xml') {
      // Straight from the server, which sends artifacts with a sandboxing CSP: an SVG opened in a
      // tab of its own must not become a same-origin document, as a blob: URL would. An image
      // URL cannot carry the workspace header, so outside `default` it is a download only.
      if (workspace.value !== DEFAULT_WORKSPACE) {
        return {
          content: { kind: 'binary', reason: 'SVG images are previewed in the default workspace only.' },
          truncated: false,
          size,
        };
      }
      return { content: { kind: 'image', url: artifactUrl(source, path) }, truncated: false, size };
    }
    const read = await readArtifact(source, path, size, MAX_IMAGE, signal);
    // The blob gets the type its extension says (the server may send octet-stream, e.g. for webp).
    const blob = new Blob([read.blob], { type: imageType(path) });
    return { content: { kind: 'image', url: URL.createObjectURL(blob) }, truncated: false, size: read.size };
  }
  const read = await readArtifact(source, path, size, PREVIEW_LIMIT, signal);
  const buffer = new Uint8Array(await read.blob.arrayBuffer());
  if (kind === 'sniff' && !looksLikeText(buffer)) {
    return { content: { kind: 'binary' }, truncated: false, size: read.size };
  }
  // `stream: true` drops a character cut in half at the end of a partial read.
  const text = new TextDecoder('utf-8').decode(buffer, { stream: read.truncated });
  return { content: render(kind, text, read.truncated), truncated: read.truncated, size: read.size };
}

function render(kind: PreviewKind, text: string, truncated: boolean): Content {
  if (kind === 'json') {
    if (truncated) return { kind: 'text', text, note: 'The JSON is cut off, so it is shown as it is stored.' };
    try {
      return { kind: 'text', text: JSON.stringify(JSON.parse(text), null, 2) };
    } catch {
      return { kind: 'text', text, note: 'This file is not valid JSON; it is shown as text.' };
    }
  }
  if (kind === 'csv' || kind === 'tsv') {
    // A partial read may end inside a row: leave that row out.
    const body = truncated ? text.slice(0, Math.max(0, text.lastIndexOf('\n'))) : text;
    return { kind: 'table', table: parseDelimited(body, kind === 'csv' ? ',' : '\t', MAX_ROWS) };
  }
  return { kind: 'text', text };
}

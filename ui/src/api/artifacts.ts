//! Artifact calls for runs and logged models: directory listings and file contents (the first
//! megabyte of large files, through a Range request).
import { api, at, v2, withQuery } from './client';
import type { FileInfo } from './types';

/**
 * Whose artifacts: a run's (with its experiment, where the logged models it produced are found)
 * or a logged model's.
 */
export type ArtifactSource =
  | { kind: 'run'; id: string; experimentId: string }
  | { kind: 'loggedModel'; id: string };

/** Previews read at most this many bytes of a file. */
export const PREVIEW_LIMIT = 1024 * 1024;

export interface Listing {
  /** Where the source's artifacts are stored (`s3://…`, `mlflow-artifacts:/…`). */
  rootUri?: string;
  /** Paths relative to the source's root, folders first, then by name. */
  files: FileInfo[];
}

/** The files and folders directly under `path` ('' = the root). */
export async function listArtifacts(source: ArtifactSource, path: string, signal?: AbortSignal): Promise<Listing> {
  type Body = { root_uri?: string; files?: FileInfo[] };
  const body =
    source.kind === 'run'
      ? await api.get<Body>(v2('artifacts/list'), { run_id: source.id, path: path || undefined }, signal)
      : await api.get<Body>(
          v2(`logged-models/${encodeURIComponent(source.id)}/artifacts/directories`),
          { artifact_directory_path: path || undefined },
          signal,
        );
  const files = (body.files ?? []).sort(
    (a, b) => Number(!!b.is_dir) - Number(!!a.is_dir) || a.path.localeCompare(b.path, undefined, { numeric: true }),
  );
  return { rootUri: body.root_uri, files };
}

/** The URL of one artifact file (also the download link). */
export function artifactUrl(source: ArtifactSource, path: string): string {
  return source.kind === 'run'
    ? withQuery(at('/get-artifact'), { path, run_uuid: source.id })
    : withQuery(v2(`logged-models/${encodeURIComponent(source.id)}/artifacts/files`), { artifact_file_path: path });
}

export interface ArtifactContent {
  blob: Blob;
  /** True when only the first PREVIEW_LIMIT bytes were read. */
  truncated: boolean;
  /** The file's full size in bytes, when known. */
  size?: number;
}

/**
 * The file's bytes, or only its first `limit` bytes when it is larger (Range request). `size` is
 * the size the listing reported; without it the whole file is read.
 */
export async function readArtifact(
  source: ArtifactSource,
  path: string,
  size: number | undefined,
  limit: number,
  signal?: AbortSignal,
): Promise<ArtifactContent> {
  const partial = size !== undefined && size > limit;
  const range = partial ? { Range: `bytes=0-${limit - 1}` } : undefined;
  const response = await api.raw(artifactUrl(source, path), signal, range);
  let blob = await response.blob();
  // A server that ignored the Range header sent everything: keep the preview to the limit.
  if (blob.size > limit) blob = blob.slice(0, limit, blob.type);
  const total = size ?? rangeTotal(response.headers.get('Content-Range')) ?? blob.size;
  return { blob, truncated: partial || blob.size < total, size: total };
}

function rangeTotal(header: string | null): number | undefined {
  const match = header ? /\/(\d+)$/.exec(header) : null;
  return match ? Number(match[1]) : undefined;
}

//! The one HTTP client of the UI: same-origin JSON calls to Keel's Ajax API, errors as ApiError.

/** An error answered by the server (MLflow's `{error_code, message}`) or by the network. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined | (string | number)[]>;

/**
 * The path prefix the server is mounted at (`keel server --static-prefix /mlflow`), which it
 * writes into the page as `<meta name="keel-base">`; empty at the root.
 */
export const base = document.querySelector<HTMLMetaElement>('meta[name="keel-base"]')?.content ?? '';

/** A server path (`/get-artifact`) under the prefix the server is mounted at. */
export const at = (path: string) => `${base}${path}`;

// Where a built file (`assets/x.js`) is served: Vite's code that loads pages' files calls this
// (vite.config.ts), once this module, which every page imports, has run.
(globalThis as { __keelAsset?: (file: string) => string }).__keelAsset = (file) => at(`/static-files/${file}`);

/** `/ajax-api/2.0/mlflow/<path>`: the MLflow 2 API as the reference UI calls it. */
export const v2 = (path: string) => at(`/ajax-api/2.0/mlflow/${path}`);
/** `/ajax-api/3.0/mlflow/<path>`: MLflow 3 routes (traces, logged models) and Keel's UI extensions. */
export const v3 = (path: string) => at(`/ajax-api/3.0/mlflow/${path}`);

/** `/ajax-api/3.0/keel/<path>`: Keel's own API (sign-in, tokens, permission hints). */
export const keel = (path: string) => at(`/ajax-api/3.0/keel/${path}`);

/** `path?query`, repeating keys for arrays and leaving out undefined values. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

type UnauthenticatedListener = (message: string) => void;
const unauthenticatedListeners: UnauthenticatedListener[] = [];

/** Called with the server's message whenever a call answers 401 (the session ended). */
export function onUnauthenticated(listener: UnauthenticatedListener): void {
  unauthenticatedListeners.push(listener);
}

/** The workspace sent with every call (`X-MLFLOW-WORKSPACE`); none means `default`. */
let workspaceHeader: string | undefined;

export function setWorkspaceHeader(name: string | undefined): void {
  workspaceHeader = name;
}

function withWorkspace(headers: Record<string, string>): Record<string, string> {
  return workspaceHeader ? { ...headers, 'X-MLFLOW-WORKSPACE': workspaceHeader } : headers;
}

async function send<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, signal, headers: withWorkspace({ Accept: 'application/json' }) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK_ERROR', `Keel did not answer (${(err as Error).message}). Is the server running?`);
  }
  const text = await response.text();
  if (!response.ok) {
    const error = errorFrom(response.status, text);
    if (response.status === 401) unauthenticatedListeners.forEach((l) => l(error.message));
    throw error;
  }
  return (text ? JSON.parse(text) : {}) as T;
}

function errorFrom(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    if (body.message) return new ApiError(status, body.error_code ?? 'ERROR', body.message);
  } catch {
    // Not JSON: fall through to the status line.
  }
  return new ApiError(status, `HTTP_${status}`, text.trim().slice(0, 300) || `HTTP ${status}`);
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => send<T>('GET', withQuery(path, query), undefined, signal),
  post: <T>(path: string, body: unknown, signal?: AbortSignal) => send<T>('POST', path, body, signal),
  patch: <T>(path: string, body: unknown) => send<T>('PATCH', path, body),
  del: <T>(path: string, body?: unknown) => send<T>('DELETE', path, body),
  /** The raw response of a GET (artifact previews, with a Range header), errors decoded as above. */
  async raw(url: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: withWorkspace(headers ?? {}) });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK_ERROR', `Keel did not answer (${(err as Error).message}).`);
    }
    if (!response.ok) throw errorFrom(response.status, await response.text());
    return response;
  },
};

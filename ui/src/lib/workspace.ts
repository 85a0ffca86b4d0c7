//! The workspace the pages act in, when the server serves workspaces: chosen in the header,
//! remembered in this browser, and sent with every API call as `X-MLFLOW-WORKSPACE` (no header
//! means `default`).
import { signal } from '@preact/signals';
import { api, setWorkspaceHeader, v3 } from '../api/client';

export const DEFAULT_WORKSPACE = 'default';
const STORAGE_KEY = 'keel.workspace';

export interface Workspace {
  name: string;
  description?: string;
}

/** The workspaces the user may pick (empty when the server does not serve workspaces). */
export const workspaces = signal<Workspace[]>([]);
/** The workspace the pages act in. */
export const workspace = signal<string>(DEFAULT_WORKSPACE);

function remembered(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) || DEFAULT_WORKSPACE;
  } catch {
    return DEFAULT_WORKSPACE;
  }
}

/** Switches to workspace `name` (the pages reload their data in it) and remembers it. */
export function chooseWorkspace(name: string): void {
  workspace.value = name;
  setWorkspaceHeader(name === DEFAULT_WORKSPACE ? undefined : name);
  try {
    localStorage.setItem(STORAGE_KEY, name);
  } catch {
    // Storage may be off: the choice then lasts until the page reloads.
  }
}

/** Asks whether the server serves workspaces and which ones the user sees; keeps the remembered
 * choice when it is still there, else goes back to `default`. */
export async function loadWorkspaces(signal?: AbortSignal): Promise<void> {
  const info = await api.get<{ workspaces_enabled?: boolean }>(v3('server-info'), undefined, signal);
  if (!info.workspaces_enabled) {
    workspaces.value = [];
    setWorkspaceHeader(undefined);
    return;
  }
  const out = await api.get<{ workspaces?: Workspace[] }>(v3('workspaces'), undefined, signal);
  const list = out.workspaces ?? [];
  workspaces.value = list;
  const wanted = remembered();
  chooseWorkspace(list.some((w) => w.name === wanted) ? wanted : DEFAULT_WORKSPACE);
}

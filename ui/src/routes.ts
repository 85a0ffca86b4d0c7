//! Which page a hash route shows. MLflow's route shapes, so links printed by the official client
//! (`#/experiments/<id>/runs/<run_id>`) and shared deep links open the right page.
import type { ComponentType } from 'preact';
import { href, type Location } from './router';

type PageModule = { default: ComponentType<any> };

export interface Match {
  /** Loads the page's module (each page is its own chunk). */
  load: () => Promise<PageModule>;
  props: Record<string, unknown>;
  /**
   * What the page shows (a run, a model version...): the page is mounted afresh when it changes,
   * so no state (a draft, a selection, a loaded tree) carries over from one item to the next,
   * while moving between the tabs or files of one item keeps it.
   */
  key: string;
  /** Which header tab is active. */
  section: Section;
}

type Section = 'experiments' | 'models' | 'prompts' | 'admin' | 'audit' | 'none';

/** Most runs one comparison shows (get-history-bulk-interval's limit per request). */
export const MAX_COMPARED_RUNS = 100;

/** `#/compare-runs?runs=["a","b"]&experiments=["1"]`, MLflow's compare route (URL-encoded JSON arrays). */
export const compareHref = (runIds: string[], experimentIds: string[]) =>
  href(['compare-runs'], { runs: JSON.stringify(runIds), experiments: JSON.stringify(experimentIds) });

const pages = {
  home: () => import('./pages/home'),
  experiment: () => import('./pages/experiment'),
  run: () => import('./pages/run'),
  loggedModel: () => import('./pages/loggedModel'),
  trace: () => import('./pages/trace'),
  compare: () => import('./pages/compare'),
  models: () => import('./pages/models'),
  model: () => import('./pages/model'),
  modelVersion: () => import('./pages/modelVersion'),
  prompts: () => import('./pages/prompts'),
  prompt: () => import('./pages/prompt'),
  account: () => import('./pages/account'),
  admin: () => import('./pages/admin'),
  audit: () => import('./pages/audit'),
  auditEntry: () => import('./pages/auditEntry'),
  notFound: () => import('./pages/notFound'),
};

export function match(loc: Location): Match {
  const { page, props, identity, section } = route(loc);
  return { load: pages[page], props, key: `${page}:${JSON.stringify(identity)}`, section };
}

interface Route {
  page: keyof typeof pages;
  props: Record<string, unknown>;
  /** The item shown; defaults to the props. */
  identity: unknown;
  section: Section;
}

const at = (page: keyof typeof pages, props: Record<string, unknown>, section: Section, identity: unknown = props): Route => ({
  page,
  props,
  identity,
  section,
});

function route(loc: Location): Route {
  const s = loc.segments;
  const [head, id, kind, item, sub, ...rest] = s;
  if (s.length === 0 || (head === 'experiments' && s.length === 1)) return at('home', {}, 'experiments');
  if (head === 'experiments' && id) {
    if (s.length === 2 || (kind === 'runs' && !item)) {
      return at('experiment', { experimentId: id, tab: 'runs' }, 'experiments', id);
    }
    if ((kind === 'traces' || kind === 'models' || kind === 'access') && !item) {
      return at('experiment', { experimentId: id, tab: kind }, 'experiments', id);
    }
    if (kind === 'traces' && item) return at('trace', { experimentId: id, traceId: item }, 'experiments');
    if (kind === 'models' && item) return at('loggedModel', { experimentId: id, modelId: item }, 'experiments');
    if (kind === 'runs' && item) {
      const artifactPath = sub === 'artifactPath' ? rest.join('/') : undefined;
      const tab = sub === 'artifactPath' || sub === 'artifacts' ? 'artifacts' : sub === 'metrics' ? 'metrics' : 'overview';
      // Tabs and artifact files of one run keep the page (and its loaded run).
      return at('run', { experimentId: id, runId: item, tab, artifactPath }, 'experiments', item);
    }
  }
  if (head === 'compare-runs' && s.length === 1) return at('compare', {}, 'experiments');
  if (head === 'models') {
    if (s.length === 1) return at('models', {}, 'models');
    if (s.length === 2) return at('model', { name: id }, 'models');
    if (s.length === 4 && kind === 'versions') return at('modelVersion', { name: id, version: item }, 'models');
  }
  if (head === 'prompts') {
    if (s.length === 1) return at('prompts', {}, 'prompts');
    if (s.length === 2) return at('prompt', { name: id }, 'prompts');
  }
  if (head === 'account' && s.length === 1) return at('account', {}, 'none');
  if (head === 'admin' && s.length === 1) return at('admin', {}, 'admin');
  // The filters live in the query: changing them keeps the page (and its form).
  if (head === 'audit' && s.length === 1) return at('audit', {}, 'audit');
  if (head === 'audit' && s.length === 3 && id === 'entries') return at('auditEntry', { index: kind }, 'audit');
  return at('notFound', { path: loc.path }, 'none');
}

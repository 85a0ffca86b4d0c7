//! Which page a hash route shows. MLflow's route shapes, so links printed by the official client
//! (`#/experiments/<id>/runs/<run_id>`) and shared deep links open the right page.
import type { ComponentType } from 'preact';
import type { Location } from './router';

type PageModule = { default: ComponentType<any> };

export interface Match {
  /** Loads the page's module (each page is its own chunk). */
  load: () => Promise<PageModule>;
  props: Record<string, unknown>;
  /** Which header tab is active. */
  section: 'experiments' | 'models' | 'prompts' | 'none';
}

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
  notFound: () => import('./pages/notFound'),
};

export function match(loc: Location): Match {
  const s = loc.segments;
  const [head, id, kind, item, sub, ...rest] = s;
  if (s.length === 0 || (head === 'experiments' && s.length === 1)) {
    return { load: pages.home, props: {}, section: 'experiments' };
  }
  if (head === 'experiments' && id) {
    if (s.length === 2 || (kind === 'runs' && !item)) {
      return { load: pages.experiment, props: { experimentId: id, tab: 'runs' }, section: 'experiments' };
    }
    if (kind === 'traces' && !item) {
      return { load: pages.experiment, props: { experimentId: id, tab: 'traces' }, section: 'experiments' };
    }
    if (kind === 'models' && !item) {
      return { load: pages.experiment, props: { experimentId: id, tab: 'models' }, section: 'experiments' };
    }
    if (kind === 'traces' && item) {
      return { load: pages.trace, props: { experimentId: id, traceId: item }, section: 'experiments' };
    }
    if (kind === 'models' && item) {
      return { load: pages.loggedModel, props: { experimentId: id, modelId: item }, section: 'experiments' };
    }
    if (kind === 'runs' && item) {
      const artifactPath = sub === 'artifactPath' ? rest.join('/') : undefined;
      const tab = sub === 'artifactPath' || sub === 'artifacts' ? 'artifacts' : sub === 'metrics' ? 'metrics' : 'overview';
      return { load: pages.run, props: { experimentId: id, runId: item, tab, artifactPath }, section: 'experiments' };
    }
  }
  if (head === 'compare-runs' && s.length === 1) {
    return { load: pages.compare, props: {}, section: 'experiments' };
  }
  if (head === 'models') {
    if (s.length === 1) return { load: pages.models, props: {}, section: 'models' };
    if (s.length === 2) return { load: pages.model, props: { name: id }, section: 'models' };
    if (s.length === 4 && kind === 'versions') {
      return { load: pages.modelVersion, props: { name: id, version: item }, section: 'models' };
    }
  }
  if (head === 'prompts') {
    if (s.length === 1) return { load: pages.prompts, props: {}, section: 'prompts' };
    if (s.length === 2) return { load: pages.prompt, props: { name: id }, section: 'prompts' };
  }
  return { load: pages.notFound, props: { path: loc.path }, section: 'none' };
}

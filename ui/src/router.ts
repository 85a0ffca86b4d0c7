//! Hash routing with MLflow's route shapes (`#/experiments/1/runs/<id>`), so the links the official
//! client prints open the matching page and every view is a deep link.
import { signal } from '@preact/signals';

export interface Location {
  /** Path segments after `#/`, decoded: `#/experiments/1` → `['experiments', '1']`. */
  segments: string[];
  /** The hash's query string: `#/compare-runs?runs=[...]`. */
  query: URLSearchParams;
  /** The raw hash path, `/experiments/1`. */
  path: string;
}

function parse(hash: string): Location {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query, path: path.startsWith('/') ? path : `/${path}` };
}

export const location = signal<Location>(parse(window.location.hash));

window.addEventListener('hashchange', () => {
  location.value = parse(window.location.hash);
});

/** `#/a/b?x=1` from segments (each encoded) and an optional query. */
export function href(segments: (string | number)[], query?: Record<string, string | undefined>): string {
  const path = segments.map((s) => encodeURIComponent(String(s))).join('/');
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, v);
  const text = params.toString();
  return `#/${path}${text ? `?${text}` : ''}`;
}

/** Goes to a hash route, adding a history entry (or replacing the current one). */
export function navigate(to: string, replace = false): void {
  if (replace) {
    window.history.replaceState(null, '', to);
    location.value = parse(window.location.hash);
  } else {
    window.location.hash = to.replace(/^#/, '');
  }
}

/** Replaces one query parameter of the current route without a new history entry (filters, tabs). */
export function setQueryParam(key: string, value: string | undefined): void {
  const current = location.value;
  const query = new URLSearchParams(current.query);
  if (value === undefined || value === '') query.delete(key);
  else query.set(key, value);
  const text = query.toString();
  navigate(`#${current.path}${text ? `?${text}` : ''}`, true);
}

//! The runs of one search (experiment, filter, sort), loaded a page of 1,000 at a time with
//! `page_token` as the table scrolls. A new search aborts the old one; until its first page arrives
//! the old rows stay on screen (marked stale) so sorting does not flash an empty table.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { searchRuns } from '../../api/runs';
import type { Run } from '../../api/types';

export const PAGE_SIZE = 1000;

export interface RunPages {
  runs: Run[];
  /** No page is left to load. */
  done: boolean;
  loading: boolean;
  /** The rows belong to the previous search while the new one loads. */
  stale: boolean;
  /** The filter and order the rows were loaded with (`order_by` clauses joined by newlines). */
  loadedFor: { filter: string; order: string };
  error?: Error;
  loadMore: () => void;
  reload: () => void;
}

interface State {
  /** `experimentId\nfilter\norder` of the search the rows come from. */
  key: string;
  filter: string;
  order: string;
  runs: Run[];
  token?: string;
  done: boolean;
  loading: boolean;
  error?: Error;
}

export function useRunPages(experimentId: string, filter: string, orderBy: string[]): RunPages {
  const orderKey = orderBy.join('\n');
  const key = `${experimentId}\n${filter}\n${orderKey}`;
  const [state, setState] = useState<State>({ key: '', filter: '', order: '', runs: [], done: false, loading: true });
  const [generation, setGeneration] = useState(0);
  const stateRef = useRef(state);
  stateRef.current = state;
  const controller = useRef<AbortController>();
  const keyRef = useRef(key);
  keyRef.current = key;
  const search = useRef({ experimentId, filter, orderBy });
  search.current = { experimentId, filter, orderBy };

  useEffect(() => {
    const ctl = new AbortController();
    controller.current = ctl;
    const loadedFor = { key, filter, order: orderKey };
    setState((s) => ({ ...s, loading: true, error: undefined }));
    searchRuns({ experimentIds: [experimentId], filter, orderBy: search.current.orderBy, maxResults: PAGE_SIZE }, ctl.signal).then(
      (page) => {
        if (ctl.signal.aborted) return;
        setState({ ...loadedFor, runs: page.runs, token: page.next_page_token, done: !page.next_page_token, loading: false });
      },
      (error: Error) => {
        if (ctl.signal.aborted || error.name === 'AbortError') return;
        setState({ ...loadedFor, runs: [], done: true, loading: false, error });
      },
    );
    return () => ctl.abort();
  }, [experimentId, filter, orderKey, generation]);

  const loadMore = useCallback(() => {
    const s = stateRef.current;
    const ctl = controller.current;
    if (s.loading || s.done || s.error || !s.token || !ctl || s.key !== keyRef.current) return;
    const { experimentId: exp, filter: f, orderBy: o } = search.current;
    setState({ ...s, loading: true });
    stateRef.current = { ...s, loading: true };
    searchRuns({ experimentIds: [exp], filter: f, orderBy: o, maxResults: PAGE_SIZE, pageToken: s.token }, ctl.signal).then(
      (page) => {
        if (ctl.signal.aborted) return;
        setState((cur) => ({
          ...cur,
          runs: [...cur.runs, ...page.runs],
          token: page.next_page_token,
          done: !page.next_page_token,
          loading: false,
        }));
      },
      (error: Error) => {
        if (ctl.signal.aborted || error.name === 'AbortError') return;
        setState((cur) => ({ ...cur, loading: false, error }));
      },
    );
  }, []);

  /** Retries what failed: the next page when some rows are loaded, else the whole search. */
  const reload = useCallback(() => {
    const s = stateRef.current;
    if (s.error && s.runs.length > 0 && s.token) {
      stateRef.current = { ...s, error: undefined };
      setState(stateRef.current);
      loadMore();
    } else {
      setGeneration((g) => g + 1);
    }
  }, [loadMore]);

  const stale = state.key !== key;
  return {
    runs: state.runs,
    done: state.done,
    loading: state.loading || stale,
    stale,
    error: stale ? undefined : state.error,
    loadedFor: { filter: state.filter, order: state.order },
    loadMore,
    reload,
  };
}

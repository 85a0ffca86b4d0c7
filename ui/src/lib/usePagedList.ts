//! A token-paged list ("Load more"): the first page keyed like `useAsync`, later pages appended once each.
//
// The first page loads whenever the keys change (or on `reload`), aborting the previous list's
// requests; until it answers, the previous list stays on screen with `loading` set. `loadMore`
// asks for the next page at most once at a time (a double click does not fetch a token twice),
// and an answer for a list that has since been replaced (new keys or a reload) is dropped, so an
// old query's page never lands after a new query's first page. Errors are state, never rejections.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** One page as the fetcher returns it: its items and the token of the next page, if any. */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface PagedList<T> {
  /** The items loaded so far; `undefined` until a first page has arrived (or after it failed). */
  items: T[] | undefined;
  /** The first page is loading (the previous list's items may still be shown). */
  loading: boolean;
  /** The first page failed; show it with `reload` as the retry. */
  error: Error | undefined;
  /** The shown list has a next page. */
  hasMore: boolean;
  /** A next page is being fetched (disable the "Load more" button). */
  loadingMore: boolean;
  /** The last "Load more" failed; show it with `loadMore` as the retry. */
  moreError: Error | undefined;
  /** Fetches the next page and appends it; does nothing while one is on its way or there is none. */
  loadMore: () => void;
  /** Loads the list again from its first page (after a write). */
  reload: () => void;
}

interface State<T> {
  items?: T[];
  error?: Error;
  loading: boolean;
  next?: string;
  loadingMore: boolean;
  moreError?: Error;
}

/** One loaded list: what `loadMore` needs, replaced whenever the first page is fetched again. */
interface ListRun<T> {
  fetch: (pageToken: string | undefined, signal: AbortSignal) => Promise<Page<T>>;
  controller: AbortController;
  /** The next page's token, once the first page has answered. */
  next?: string;
  busy: boolean;
}

const isAbort = (error: unknown) => (error as Error | undefined)?.name === 'AbortError';

/**
 * `fetchPage(token, signal)` returns one page (`token` is `undefined` for the first); `keys` are
 * everything the list depends on (the query, the experiment, the order), as for `useAsync`.
 */
export function usePagedList<T>(
  fetchPage: (pageToken: string | undefined, signal: AbortSignal) => Promise<Page<T>>,
  keys: unknown[],
): PagedList<T> {
  const [state, setState] = useState<State<T>>({ loading: true, loadingMore: false });
  const [generation, setGeneration] = useState(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const runRef = useRef<ListRun<T>>();

  useEffect(() => {
    // The fetcher of this render: it closes over the keys this list is for.
    const run: ListRun<T> = { fetch: fetchRef.current, controller: new AbortController(), busy: false };
    runRef.current = run;
    const current = () => runRef.current === run && !run.controller.signal.aborted;
    setState((s) => ({ items: s.items, next: s.next, loading: true, loadingMore: false }));
    run.fetch(undefined, run.controller.signal).then(
      (page) => {
        if (!current()) return;
        run.next = page.next || undefined;
        setState({ items: page.items, next: run.next, loading: false, loadingMore: false });
      },
      (error: Error) => {
        if (!current() || isAbort(error)) return;
        setState({ error, loading: false, loadingMore: false });
      },
    );
    return () => run.controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...keys, generation]);

  const loadMore = useCallback(() => {
    const run = runRef.current;
    if (!run || run.busy || !run.next || run.controller.signal.aborted) return;
    const current = () => runRef.current === run && !run.controller.signal.aborted;
    run.busy = true;
    setState((s) => ({ ...s, loadingMore: true, moreError: undefined }));
    run.fetch(run.next, run.controller.signal).then(
      (page) => {
        run.busy = false;
        if (!current()) return;
        run.next = page.next || undefined;
        setState((s) => ({ ...s, items: [...(s.items ?? []), ...page.items], next: run.next, loadingMore: false }));
      },
      (error: Error) => {
        run.busy = false;
        if (!current() || isAbort(error)) return;
        setState((s) => ({ ...s, loadingMore: false, moreError: error }));
      },
    );
  }, []);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  return {
    items: state.items,
    loading: state.loading,
    error: state.error,
    hasMore: !!state.next,
    loadingMore: state.loadingMore,
    moreError: state.moreError,
    loadMore,
    reload,
  };
}

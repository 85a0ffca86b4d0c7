//! The list of registered models or of prompts: a name search (kept in `?q=`), pages of 100 with
//! "Load more", and an empty state that shows how to register the first one.
import type { ComponentChildren } from 'preact';
import type { ModelPage } from '../../api/registry';
import type { RegisteredModel } from '../../api/types';
import { NameSearch } from '../../components/NameSearch';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../../components/Status';
import { usePagedList } from '../../lib/usePagedList';
import { useQueryText } from '../../lib/useQueryText';

export interface Column {
  title: string;
  cell: (model: RegisteredModel) => ComponentChildren;
  class?: string;
}

export interface RegistryListProps {
  /** "models" or "prompts", for labels. */
  noun: string;
  search: (nameContains: string, pageToken?: string, signal?: AbortSignal) => Promise<ModelPage>;
  columns: Column[];
  /** How to register the first one (an empty registry's snippet). */
  firstOne: { text: string; code: string };
}

export function RegistryList({ noun, search, columns, firstOne }: RegistryListProps) {
  const { query, text, setText } = useQueryText('q');
  const page = usePagedList<RegisteredModel>(
    async (pageToken, signal) => {
      const body = await search(query, pageToken, signal);
      return { items: body.registered_models, next: body.next_page_token };
    },
    [query, search],
  );
  const items = page.items ?? [];

  return (
    <>
      <NameSearch noun={noun} text={text} setText={setText} />
      {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
      {page.loading && !page.items ? (
        <Loading />
      ) : items.length === 0 && !page.error && page.hasMore ? (
        <p class="muted">No {noun} loaded so far match “{query}”; load more to keep looking.</p>
      ) : items.length === 0 && !page.error ? (
        query ? (
          <EmptyState title={`No ${noun} match “${query}”`}>
            <p>The search matches any part of the name, ignoring case. Clear it to see all {noun}.</p>
          </EmptyState>
        ) : (
          <EmptyState title={`No ${noun} yet`}>
            <p>{firstOne.text}</p>
            <Snippet code={firstOne.code} />
          </EmptyState>
        )
      ) : (
        <table class="grid registry-list" aria-label={noun[0].toUpperCase() + noun.slice(1)}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.title}>{c.title}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((model) => (
              <tr key={model.name} data-name={model.name}>
                {columns.map((c) => (
                  <td key={c.title} class={c.class}>
                    {c.cell(model)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.moreError && <ErrorBanner error={page.moreError} onRetry={page.loadMore} />}
      {page.hasMore && (
        <div class="toolbar load-more">
          <button type="button" onClick={page.loadMore} disabled={page.loadingMore || page.loading}>
            {page.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </>
  );
}

//! The list of registered models or of prompts: a name search (kept in `?q=`), pages of 100 with
//! "Load more", and an empty state that shows how to register the first one.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ModelPage } from '../../api/registry';
import type { RegisteredModel } from '../../api/types';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../../components/Status';
import { useAsync } from '../../lib/useAsync';
import { location, setQueryParam } from '../../router';

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
  const query = location.value.query.get('q') ?? '';
  const [text, setText] = useState(query);
  const [more, setMore] = useState<{ items: RegisteredModel[]; token?: string; error?: Error }>({ items: [] });
  const page = useAsync(
    async (signal) => {
      const body = await search(query, undefined, signal);
      setMore({ items: [], token: body.next_page_token });
      return body.registered_models;
    },
    [query],
  );
  const items = [...(page.data ?? []), ...more.items];

  const loadMore = async () => {
    try {
      const body = await search(query, more.token);
      setMore({ items: [...more.items, ...body.registered_models], token: body.next_page_token });
    } catch (error) {
      setMore({ ...more, error: error as Error });
    }
  };

  return (
    <>
      <form class="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <input
          class="search"
          type="search"
          data-search
          placeholder={`Search ${noun} by name (press / to focus)`}
          aria-label={`Search ${noun}`}
          value={text}
          onInput={(e) => {
            const value = (e.target as HTMLInputElement).value;
            setText(value);
            setQueryParam('q', value.trim() || undefined);
          }}
        />
      </form>
      {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
      {page.loading && !page.data ? (
        <Loading />
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
      {more.error && <ErrorBanner error={more.error} onRetry={loadMore} />}
      {more.token && (
        <div class="toolbar load-more">
          <button type="button" onClick={loadMore}>
            Load more
          </button>
        </div>
      )}
    </>
  );
}

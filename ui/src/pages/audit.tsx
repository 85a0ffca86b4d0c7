//! The audit log (administrators): its entries newest first, filtered by actor, action, resource,
//! outcome and time range (kept in the hash query), paged with "Load more"; each entry opens on
//! its own page with its inclusion proof checked in the browser. Others get the server's 403,
//! shown as "administrators only".
import { type LoggedEntry, searchAudit } from '../api/audit';
import { EmptyState, ErrorBanner, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { useTitle } from '../lib/title';
import { usePagedList } from '../lib/usePagedList';
import { location, navigate } from '../router';
import { AdminsOnly, OutcomeBadge, entryHref, isDenied } from './audit/common';
import { FilterForm, auditHref, badTimes, filterText, isFiltered, toApiFilter } from './audit/filters';
import '../styles/audit.css';

export default function AuditPage() {
  useTitle('Audit log');
  const current = filterText(location.value.query);
  const filter = toApiFilter(current);
  const page = usePagedList<LoggedEntry>(
    async (pageToken, signal) => {
      const out = await searchAudit(filter, pageToken, signal);
      return { items: out.entries ?? [], next: out.next_page_token };
    },
    [JSON.stringify(filter)],
  );
  const entries = page.items ?? [];
  const actions = [...new Set(entries.map((e) => e.entry.action))].sort();
  const invalid = badTimes(current);

  return (
    <section>
      <div class="page-header">
        <h1>Audit log</h1>
      </div>
      {isDenied(page.error) ? (
        <AdminsOnly error={page.error} />
      ) : (
        <>
          <p class="muted">
            Every change, denial and failed sign-in, in a tamper-evident log: open an entry to check its inclusion in the log's signed checkpoint.
          </p>
          <FilterForm current={current} actions={actions} />
          {invalid.length > 0 && (
            <p class="form-error" role="alert">
              Ignored: the {invalid.join(' and ')} time in the link is not a time.
            </p>
          )}
          {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
          {page.loading && !page.items ? (
            <Loading label="Loading entries…" />
          ) : page.error && !page.items ? null : entries.length === 0 ? (
            <EmptyState title={isFiltered(current) ? 'No entry matches these filters' : 'No entries yet'}>
              <p>{isFiltered(current) ? 'Filters match exactly (an action such as runs.update, a run ID); loosen or clear them.' : 'Changes are recorded as they happen.'}</p>
            </EmptyState>
          ) : (
            <>
              <table class="grid audit-entries" aria-label="Audit entries" aria-busy={page.loading}>
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Actor</th>
                    <th>Action</th>
                    <th>Resource</th>
                    <th>Outcome</th>
                    <th>Entry</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e, i) => (
                    <EntryRow key={e.leaf_index ?? `pending-${i}`} logged={e} />
                  ))}
                </tbody>
              </table>
              <div class="toolbar audit-footer">
                <span class="muted">
                  {entries.length} entr{entries.length === 1 ? 'y' : 'ies'}
                  {page.hasMore ? ' shown, more available' : ''}
                </span>
                {page.hasMore && (
                  <button type="button" onClick={page.loadMore} disabled={page.loadingMore || page.loading}>
                    {page.loadingMore ? 'Loading…' : 'Load more'}
                  </button>
                )}
              </div>
              {page.moreError && <ErrorBanner error={page.moreError} onRetry={page.loadMore} />}
            </>
          )}
        </>
      )}
    </section>
  );
}

function EntryRow({ logged }: { logged: LoggedEntry }) {
  const e = logged.entry;
  const index = logged.leaf_index;
  const link = index === undefined ? undefined : entryHref(index);
  const open = (ev: Event) => {
    if (!link || (ev.target as HTMLElement).closest('a, button')) return;
    navigate(link);
  };
  return (
    <tr
      data-leaf={index}
      data-action={e.action}
      class={link ? 'clickable' : undefined}
      tabIndex={link ? 0 : undefined}
      onClick={open}
      onKeyDown={(ev) => {
        if (link && ev.key === 'Enter' && ev.target === ev.currentTarget) navigate(link);
      }}
    >
      <td class="nowrap">
        <Time value={e.time} />
      </td>
      <td>
        {e.actor.name || <span class="muted">anonymous</span>}
        {e.actor.kind !== 'user' && e.actor.name && <span class="muted"> ({e.actor.kind.replace(/_/g, ' ')})</span>}
      </td>
      <td class="mono">{e.action}</td>
      <td>
        <span class="muted">{e.resource.kind}</span>{' '}
        {e.resource.id && (
          <a class="mono" href={auditHref({ kind: e.resource.kind, id: e.resource.id })} title="Only this resource's entries">
            {e.resource.id}
          </a>
        )}
      </td>
      <td>
        <OutcomeBadge outcome={e.outcome} />
        {e.error_code && <span class="muted"> {e.error_code}</span>}
      </td>
      <td class="num">
        {link ? (
          <a href={link} title="The entry, its canonical JSON and its inclusion proof">
            #{index}
          </a>
        ) : (
          <span class="muted" title="Not appended to the log yet (it is within a second): reload to open it">
            pending
          </span>
        )}
      </td>
    </tr>
  );
}

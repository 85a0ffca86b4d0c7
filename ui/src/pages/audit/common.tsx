//! Pieces both audit pages show: the "administrators only" message for a 403, an outcome badge,
//! and the link of an entry's page.
import { ApiError } from '../../api/client';
import { EmptyState } from '../../components/Status';
import { href } from '../../router';

export const entryHref = (index: number) => href(['audit', 'entries', index]);

/** Whether the server refused the caller (only administrators may read the log's entries). */
export const isDenied = (error: Error | undefined): error is ApiError => error instanceof ApiError && error.status === 403;

/** The 403 of a caller who is not an administrator, as a message rather than an error. */
export function AdminsOnly({ error }: { error: Error }) {
  return (
    <EmptyState title="Administrators only">
      <p>The audit log is for administrators; ask one to look up what you need.</p>
      <p class="muted">The server answered: {error.message}</p>
    </EmptyState>
  );
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span class={`badge ${outcome === 'success' ? 'ok' : 'error'}`}>{outcome}</span>;
}

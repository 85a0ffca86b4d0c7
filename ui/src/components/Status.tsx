//! Messages every page uses: an API error, an empty state that says what to do next, loading.
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api/client';

export function ErrorBanner({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="banner error" role="alert">
      <strong>{code ? `${code}: ` : ''}</strong>
      <span class="message">{error.message}</span>
      {onRetry && (
        <button type="button" class="link" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** A form's error (the server's message), announced to screen readers. */
export function FormError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="form-error" role="alert">
      {message}
    </p>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="loading" aria-busy="true">
      {label}
    </div>
  );
}

/** A copyable code snippet, for empty states that show how to log the first run. */
export function Snippet({ code }: { code: string }) {
  return <pre class="snippet">{code}</pre>;
}

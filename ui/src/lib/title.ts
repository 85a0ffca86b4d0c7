//! Sets the document title for the page shown ("run-1 · Keel").
import { useLayoutEffect } from 'preact/hooks';

export function useTitle(...parts: (string | undefined)[]): void {
  const title = [...parts.filter(Boolean), 'Keel'].join(' · ');
  useLayoutEffect(() => {
    document.title = title;
  }, [title]);
}

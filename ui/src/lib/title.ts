//! Sets the document title for the page shown ("run-1 · Keel").
import { useEffect } from 'preact/hooks';

export function useTitle(...parts: (string | undefined)[]): void {
  const title = [...parts.filter(Boolean), 'Keel'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}

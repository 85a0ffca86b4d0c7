//! A search box bound to a hash query parameter (`?q=`): typing updates the parameter at once,
//! and back/forward or a link that changes the parameter updates the box.
import { useEffect, useRef, useState } from 'preact/hooks';
import { location, setQueryParam } from '../router';

export function useQueryText(key: string): { query: string; text: string; setText: (value: string) => void } {
  const query = location.value.query.get(key) ?? '';
  const [text, setTextState] = useState(query);
  /** The last value this box wrote, so its own writes are not read back as outside changes. */
  const written = useRef(query);
  useEffect(() => {
    // Read the parameter now, not as of this render: effects run late, after more keystrokes.
    const now = location.value.query.get(key) ?? '';
    if (now !== written.current) {
      written.current = now;
      setTextState(now);
    }
  }, [key, query]);
  const setText = (value: string) => {
    setTextState(value);
    written.current = value.trim();
    setQueryParam(key, written.current || undefined);
  };
  return { query, text, setText };
}

//! A list that renders only the rows in view (fixed row height), so 10,000 runs or 30,000 spans
//! keep fewer than a hundred rows in the DOM. Used by the runs table and the span tree.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ComponentChildren;
  /** Extra rows drawn above and below the viewport. */
  overscan?: number;
  /** Called when the last row comes into view (to fetch the next page). */
  onEndReached?: () => void;
  /**
   * Changes whenever more data arrived (e.g. the number of items loaded), so `onEndReached` is
   * asked again even when the new items added no rows (children of collapsed parents).
   */
  loadedKey?: unknown;
  /** Scrolls so this row is visible whenever it changes. */
  scrollToIndex?: number;
  class?: string;
  style?: JSX.CSSProperties;
  role?: JSX.HTMLAttributes['role'];
  label?: string;
  onKeyDown?: (e: KeyboardEvent) => void;
}

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, renderRow, overscan = 8, onEndReached, scrollToIndex, loadedKey } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (!el || scrollToIndex === undefined || scrollToIndex < 0) return;
    const top = scrollToIndex * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [scrollToIndex, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);

  useEffect(() => {
    if (onEndReached && count > 0 && last >= count) onEndReached();
  }, [last, count, onEndReached, loadedKey]);

  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vrow" style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}>
        {renderRow(i)}
      </div>,
    );
  }

  return (
    <div
      ref={ref}
      class={`vlist ${props.class ?? ''}`}
      style={props.style}
      role={props.role}
      aria-label={props.label}
      aria-rowcount={count}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
      onKeyDown={props.onKeyDown}
    >
      <div class="vspacer" style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}

//! A time shown relative ("5 minutes ago") with the exact timestamp on hover.
import { exactTime, relativeTime, toMillis } from '../lib/format';

export function Time({ value }: { value: string | number | undefined | null }) {
  const ms = toMillis(value);
  // Beyond ±8.64e15 ms (e.g. a timestamp logged in nanoseconds) a Date is invalid.
  if (ms === undefined || ms <= 0 || !Number.isFinite(new Date(ms).getTime())) return <span class="muted">—</span>;
  const exact = exactTime(ms);
  return (
    <time dateTime={new Date(ms).toISOString()} title={exact}>
      {relativeTime(ms)}
    </time>
  );
}

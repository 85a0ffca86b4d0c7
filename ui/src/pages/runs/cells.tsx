//! What one cell of the runs table shows for a column: status badge, relative start time, duration,
//! user, or the run's latest metric value, param or tag.
import { runTag } from '../../api/runs';
import type { Run } from '../../api/types';
import { RunStatusBadge } from '../../components/RunStatus';
import { Time } from '../../components/Time';
import { duration, num, toMillis } from '../../lib/format';
import type { Column } from './columns';

/** end − start, or undefined while the run has not ended. */
export function runDuration(run: Run): number | undefined {
  const start = toMillis(run.info.start_time);
  const end = toMillis(run.info.end_time);
  return start !== undefined && end !== undefined && end >= start ? end - start : undefined;
}

export function Cell({ run, column }: { run: Run; column: Column }) {
  const { kind, key } = column;
  if (kind === 'attributes') {
    if (key === 'status') return <RunStatusBadge status={run.info.status} />;
    if (key === 'start_time') return <Time value={run.info.start_time} />;
    if (key === 'duration') {
      const ms = runDuration(run);
      return ms === undefined ? <span class="muted">—</span> : <>{duration(ms)}</>;
    }
    if (key === 'user_id') return <span title={run.info.user_id}>{run.info.user_id || '—'}</span>;
    return null;
  }
  if (kind === 'metrics') {
    const metric = run.data.metrics?.find((m) => m.key === key);
    if (!metric) return null;
    return <span title={`${metric.value} (step ${metric.step ?? 0})`}>{num(metric.value)}</span>;
  }
  const value = kind === 'params' ? run.data.params?.find((p) => p.key === key)?.value : runTag(run, key);
  return value === undefined ? null : <span title={value}>{value}</span>;
}

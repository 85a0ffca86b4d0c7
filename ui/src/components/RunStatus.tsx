//! A run's status as a coloured badge (finished, failed, killed, running, scheduled).
import type { RunStatus } from '../api/types';

const KIND: Record<RunStatus, string> = {
  FINISHED: 'ok',
  RUNNING: 'running',
  SCHEDULED: '',
  FAILED: 'error',
  KILLED: 'error',
};

export function RunStatusBadge({ status }: { status: RunStatus }) {
  return <span class={`badge ${KIND[status] ?? ''}`}>{status.toLowerCase()}</span>;
}

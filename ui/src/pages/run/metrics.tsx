//! TEMPORARY scaffold: replaced by the run's metric charts.
import type { Run } from '../../api/types';

export function RunMetrics({ run }: { run: Run }) {
  return <p>{run.info.run_id}</p>;
}

//! TEMPORARY scaffold: replaced by the run overview.
import type { Run } from '../../api/types';

export function RunOverview({ run }: { run: Run }) {
  return <p>{run.info.run_id}</p>;
}

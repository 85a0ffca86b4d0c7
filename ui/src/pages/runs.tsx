//! TEMPORARY scaffold: replaced by the page's real implementation.
import type { Experiment } from '../api/types';

export function RunsTab({ experiment }: { experiment: Experiment }) {
  return <p>{experiment.name}</p>;
}

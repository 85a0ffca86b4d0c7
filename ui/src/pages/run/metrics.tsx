//! The run's Metrics tab: one chart per metric key (downsampled on the server), with the shared
//! x-axis, log-scale and smoothing controls and a key filter when there are many metrics.
import { useState } from 'preact/hooks';
import { runName } from '../../api/runs';
import type { Run } from '../../api/types';
import { ChartControls } from '../../components/ChartControls';
import { MetricChart, type ChartRun } from '../../components/MetricChart';
import { EmptyState, Snippet } from '../../components/Status';
import { runColor } from '../../lib/chartColors';
import { location } from '../../router';
import '../../styles/charts.css';

/** Above this many metrics the page shows a filter box. */
const FILTER_FROM = 6;

const LOG_METRIC = `import mlflow
with mlflow.start_run(run_id="<run id>"):
    for step in range(100):
        mlflow.log_metric("loss", 1 / (step + 1), step=step)`;

export function RunMetrics({ run }: { run: Run }) {
  const highlighted = location.value.query.get('metric') ?? undefined;
  const [filter, setFilter] = useState('');
  const keys = [...new Set((run.data.metrics ?? []).map((m) => m.key))].sort((a, b) => a.localeCompare(b));
  const needle = filter.trim().toLowerCase();
  const shown = needle ? keys.filter((k) => k.toLowerCase().includes(needle)) : keys;
  const chartRuns: ChartRun[] = [{ id: run.info.run_id, label: runName(run), color: runColor(0) }];

  if (keys.length === 0) {
    return (
      <EmptyState title="This run has no metrics">
        <p>Log a metric with the MLflow client and its chart appears here:</p>
        <Snippet code={LOG_METRIC.replace('<run id>', run.info.run_id)} />
      </EmptyState>
    );
  }
  return (
    <div class="run-metrics">
      <ChartControls
        filter={keys.length >= FILTER_FROM ? filter : undefined}
        onFilter={setFilter}
        count={{ shown: shown.length, total: keys.length }}
      />
      {shown.length === 0 ? (
        <EmptyState title={`No metric key contains “${filter.trim()}”`}>
          <p>Clear the filter to see all {keys.length} charts.</p>
        </EmptyState>
      ) : (
        <div class="chart-grid">
          {shown.map((key) => (
            <MetricChart
              key={key}
              metricKey={key}
              runs={chartRuns}
              highlighted={key === highlighted}
              height={shown.length === 1 ? 320 : 220}
            />
          ))}
        </div>
      )}
    </div>
  );
}

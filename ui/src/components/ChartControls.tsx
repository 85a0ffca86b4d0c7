//! The toolbar above metric charts: x axis, log scale, smoothing (shared by every chart through
//! `chartSettings`) and, when there are many metrics, a box that filters them by key.
import { chartSettings, updateChartSettings, X_AXIS_LABELS, type XAxis } from '../lib/chartSettings';

interface Props {
  /** The key filter's text, or undefined to leave the box out. */
  filter?: string;
  onFilter?: (text: string) => void;
  /** "3 of 40 metrics" next to the filter. */
  count?: { shown: number; total: number };
}

export function ChartControls({ filter, onFilter, count }: Props) {
  const settings = chartSettings.value;
  return (
    <div class="toolbar chart-controls" role="group" aria-label="Chart options">
      {filter !== undefined && onFilter && (
        <>
          <input
            class="search chart-filter"
            type="search"
            data-search
            placeholder="Filter metrics by key (press / to focus)"
            aria-label="Filter metrics by key"
            value={filter}
            onInput={(e) => onFilter((e.target as HTMLInputElement).value)}
          />
          {count && (
            <span class="muted">
              {count.shown} of {count.total} metrics
            </span>
          )}
        </>
      )}
      <label class="chart-field">
        <span>X axis</span>
        <select
          aria-label="X axis"
          value={settings.xAxis}
          onChange={(e) => updateChartSettings({ xAxis: (e.target as HTMLSelectElement).value as XAxis })}
        >
          {(Object.keys(X_AXIS_LABELS) as XAxis[]).map((key) => (
            <option key={key} value={key}>
              {X_AXIS_LABELS[key]}
            </option>
          ))}
        </select>
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={settings.logY}
          onChange={(e) => updateChartSettings({ logY: (e.target as HTMLInputElement).checked })}
        />
        Log scale
      </label>
      <label class="chart-field smoothing">
        <span>Smoothing</span>
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          aria-label="Smoothing"
          value={settings.smoothing}
          onInput={(e) => updateChartSettings({ smoothing: Number((e.target as HTMLInputElement).value) })}
        />
        <output class="mono">{settings.smoothing.toFixed(2)}</output>
      </label>
    </div>
  );
}

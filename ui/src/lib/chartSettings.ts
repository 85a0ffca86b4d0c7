//! The chart controls shared by every metric chart (x axis, log scale, smoothing), remembered in
//! localStorage so the run page and the compare view look the same.
import { signal } from '@preact/signals';

export type XAxis = 'step' | 'wall' | 'relative';

export interface ChartSettings {
  xAxis: XAxis;
  logY: boolean;
  /** EMA weight, 0 (off) to 0.99. */
  smoothing: number;
}

const KEY = 'keel.charts';
const DEFAULTS: ChartSettings = { xAxis: 'step', logY: false, smoothing: 0 };

function stored(): ChartSettings {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<ChartSettings>;
    return {
      xAxis: value.xAxis === 'wall' || value.xAxis === 'relative' ? value.xAxis : 'step',
      logY: value.logY === true,
      smoothing: typeof value.smoothing === 'number' ? Math.min(0.99, Math.max(0, value.smoothing)) : 0,
    };
  } catch {
    return DEFAULTS;
  }
}

export const chartSettings = signal<ChartSettings>(stored());

export function updateChartSettings(change: Partial<ChartSettings>): void {
  chartSettings.value = { ...chartSettings.value, ...change };
  try {
    localStorage.setItem(KEY, JSON.stringify(chartSettings.value));
  } catch {
    // Private mode: the settings last for this page only.
  }
}

export const X_AXIS_LABELS: Record<XAxis, string> = {
  step: 'Step',
  wall: 'Wall time',
  relative: 'Relative time',
};

//! The uPlot side of a metric chart (loaded lazily, with uPlot and its CSS): builds the chart from
//! aligned columns, keeps a faint raw line behind each smoothed one, reports the values under the
//! cursor, zooms on a dragged x range and redraws in place when data or smoothing change.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { History } from '../../api/metrics';
import type { ChartSettings, XAxis } from '../../lib/chartSettings';
import { withAlpha, type ChartTheme } from '../../lib/chartColors';
import { exactTime } from '../../lib/format';
import { align, nearestDefined, positiveOnly, smooth, stepWindow, type ChartColumns, type Column } from './data';

export interface PlotRun {
  label: string;
  color: string;
}

/** What the legend shows: the x under the cursor and each run's value there. */
export interface CursorValues {
  x: string;
  values: ({ raw: number; smoothed?: number; step?: number } | undefined)[];
}

export interface PlotEvents {
  /** The values under the cursor; when the cursor is away, each run's last point (with `x` empty). */
  onCursor(values: CursorValues): void;
  /** A dragged x range (as a step window for refetching), or undefined when the zoom is reset. */
  onZoom(window: [number, number] | undefined): void;
}

export interface PlotInput {
  runs: PlotRun[];
  histories: History[];
  /** Each run's first timestamp (the zero of relative time), from its full history. */
  origins: number[];
  settings: ChartSettings;
  theme: ChartTheme;
  width: number;
  height: number;
  /** Charts with the same key move their cursors together. */
  syncKey?: string;
}

export interface Plot {
  /** New histories: a zoomed window at higher resolution (keeping the x range), or the full ones. */
  setHistories(histories: History[], keepX: boolean): void;
  setSmoothing(weight: number): void;
  setSize(width: number, height: number): void;
  resetZoom(): void;
  /** How many values ≤ 0 the log scale leaves out. */
  hiddenByLog(): number;
  /** True when the log scale was asked for but no value is positive (drawn linear instead). */
  logImpossible: boolean;
  destroy(): void;
}

const FONT = '11px system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });

/** Axis tick labels for values: compact for large numbers, short exponents for tiny ones. */
function tick(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a >= 1e4) return compact.format(v);
  if (a !== 0 && a < 1e-3) return v.toExponential(1);
  return plain.format(Number(v.toPrecision(6)));
}

/** Seconds as "45s", "2m 30s", "1h 5m". */
export function seconds(v: number): string {
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a < 60) return `${sign}${Number(a.toPrecision(3))}s`;
  if (a < 3600) return `${sign}${Math.floor(a / 60)}m${a % 60 >= 1 ? ` ${Math.round(a % 60)}s` : ''}`;
  if (a < 86400) return `${sign}${Math.floor(a / 3600)}h${a % 3600 >= 60 ? ` ${Math.round((a % 3600) / 60)}m` : ''}`;
  return `${sign}${(a / 86400).toFixed(1)}d`;
}

function xLabel(axis: XAxis, x: number, step: number | undefined): string {
  if (axis === 'step') return `step ${plain.format(x)}`;
  const where = step === undefined ? '' : ` · step ${plain.format(step)}`;
  if (axis === 'wall') return `${exactTime(x)}${where}`;
  return `${seconds(x)} since start${where}`;
}

/** Axis width from its longest label (uPlot's fixed default cuts long labels). */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return (axis as unknown as { _size: number })._size;
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5);
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  if (longest) {
    u.ctx.font = FONT;
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

/** Tick steps for seconds: sub-second decimals, then clock-like minutes, hours and days. */
const DURATION_INCRS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
  10800, 21600, 43200, 86400, 172800, 604800, 2592000, 31536000,
];

const isDecade = (v: number) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
const mantissa = (v: number) => Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)));

/** On a log axis spanning many decades, only the powers of ten get a grid line. */
function logGrid(_u: uPlot, splits: number[]): (number | null)[] {
  if (splits.length <= 12) return splits;
  const decades = splits.map((v) => (isDecade(v) ? v : null));
  return decades.filter((v) => v !== null).length >= 2 ? decades : splits;
}

/** Log axis labels that do not collide: powers of ten, plus 2 and 5 within a decade or two. */
function logLabels(u: uPlot, splits: number[]): (number | null)[] {
  if (splits.length <= 5) return splits;
  if (splits.length > 12) return logGrid(u, splits);
  return splits.map((v) => ([1, 2, 5].includes(mantissa(v)) ? v : null));
}

export function createPlot(target: HTMLElement, input: PlotInput, events: PlotEvents): Plot {
  const { runs, settings, theme } = input;
  const axis = settings.xAxis;
  let weight = settings.smoothing;
  let cols: ChartColumns = align(input.histories, axis, input.origins);
  let hidden = 0;
  let smoothed: Column[] = [];
  const anyPositive = cols.raw.some((column) => column.some((v) => v !== null && v !== undefined && v > 0));
  const logY = settings.logY && anyPositive;

  /** [x, raw₀, smooth₀, raw₁, smooth₁, …] for the current columns and smoothing. */
  function build(): uPlot.AlignedData {
    hidden = 0;
    smoothed = cols.raw.map((raw) => (weight > 0 ? smooth(raw, weight) : raw));
    const out: uPlot.AlignedData = [cols.xs];
    cols.raw.forEach((raw, r) => {
      let shown = raw;
      let shownSmooth = smoothed[r];
      if (logY) {
        let n = 0;
        [shown, n] = positiveOnly(raw);
        hidden += n;
        [shownSmooth] = positiveOnly(shownSmooth);
      }
      out.push(shown, shownSmooth);
    });
    return out;
  }

  const series: uPlot.Series[] = [{}];
  runs.forEach((run) => {
    series.push(
      {
        label: run.label,
        stroke: () => (weight > 0 ? withAlpha(run.color, 0.3) : run.color),
        width: 1.5,
        spanGaps: false,
        points: { fill: theme.bg },
      },
      { label: `${run.label} (smoothed)`, stroke: run.color, width: 1.75, spanGaps: false, show: weight > 0, points: { show: false } },
    );
  });

  const axisStyle = {
    stroke: theme.muted,
    font: FONT,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1, size: 4 },
  };

  const options: uPlot.Options = {
    width: input.width,
    height: input.height,
    ms: 1,
    legend: { show: false },
    padding: [10, 14, 0, 0],
    cursor: {
      sync: input.syncKey ? { key: input.syncKey, setSeries: false } : undefined,
      drag: { x: true, y: false, setScale: false },
      points: { size: 7, width: 1.5 },
      bind: {
        dblclick: () => () => {
          resetZoom();
          return null;
        },
      },
    },
    scales: {
      x: { time: axis === 'wall' },
      y: logY ? { distr: 3, log: 10 } : { distr: 1 },
    },
    axes: [
      {
        ...axisStyle,
        size: 34,
        incrs: axis === 'relative' ? DURATION_INCRS : undefined,
        values:
          axis === 'wall'
            ? undefined
            : (_u, splits) => splits.map((v) => (axis === 'relative' ? seconds(v) : tick(v))),
      },
      {
        ...axisStyle,
        size: axisSize,
        values: (_u, splits) => splits.map(tick),
        ...(logY
          ? {
              filter: logLabels,
              grid: { ...axisStyle.grid, filter: logGrid },
              ticks: { ...axisStyle.ticks, filter: logGrid },
            }
          : {}),
      },
    ],
    series,
    hooks: {
      setCursor: [
        (u) => {
          const idx = u.cursor.idx;
          if (idx === null || idx === undefined) {
            events.onCursor(latest());
            return;
          }
          const values = cols.raw.map((_, r) => valueAt(r, nearestDefined(cols.raw[r], idx)));
          const firstStep = values.find((v) => v?.step !== undefined)?.step;
          events.onCursor({ x: xLabel(axis, cols.xs[idx], firstStep), values });
        },
      ],
      setSelect: [
        (u) => {
          const { left, width } = u.select;
          if (width < 2) return;
          const min = u.posToVal(left, 'x');
          const max = u.posToVal(left + width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          zoomed = true;
          u.setScale('x', { min, max });
          events.onZoom(stepWindow(cols, min, max));
        },
      ],
    },
  };

  /** Run r's raw and smoothed value and step at index i of the columns. */
  function valueAt(r: number, i: number | undefined): CursorValues['values'][number] {
    if (i === undefined) return undefined;
    const step = cols.steps[r][i];
    return {
      raw: cols.raw[r][i] as number,
      smoothed: weight > 0 ? (smoothed[r][i] ?? undefined) : undefined,
      step: step ?? undefined,
    };
  }

  /** Each run's last point in the data shown. */
  function latest(): CursorValues {
    return { x: '', values: cols.raw.map((raw, r) => valueAt(r, nearestDefined(raw, raw.length - 1))) };
  }

  let zoomed = false;
  const plot = new uPlot(options, build(), target);
  events.onCursor(latest());

  function resetZoom(): void {
    if (!zoomed) return;
    zoomed = false;
    events.onZoom(undefined);
  }

  return {
    setHistories(histories, keepX) {
      cols = align(histories, axis, input.origins);
      const { min, max } = plot.scales.x;
      plot.batch(() => {
        plot.setData(build(), !keepX);
        if (keepX && min !== undefined && max !== undefined) plot.setScale('x', { min, max });
      });
      events.onCursor(latest());
    },
    setSmoothing(next) {
      const was = weight;
      weight = next;
      plot.batch(() => {
        if ((was > 0) !== (next > 0)) {
          for (let r = 0; r < runs.length; r++) plot.setSeries(2 + r * 2, { show: next > 0 }, false);
        }
        plot.setData(build(), false);
      });
      events.onCursor(latest());
    },
    setSize(width, height) {
      plot.setSize({ width, height });
    },
    resetZoom,
    hiddenByLog: () => hidden,
    logImpossible: settings.logY && !anyPositive,
    destroy() {
      plot.destroy();
    },
  };
}

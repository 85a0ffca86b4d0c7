//! One metric's chart for one or more runs: fetched downsampled from the server when it scrolls
//! into view, drawn with uPlot (loaded lazily), a legend with the values under the cursor,
//! drag-to-zoom that refetches the zoomed steps at full resolution, and redraws on resize, theme
//! and control changes.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getHistories, type History } from '../api/metrics';
import { chartTheme, useThemeVersion } from '../lib/chartColors';
import { chartSettings } from '../lib/chartSettings';
import { num } from '../lib/format';
import type { CursorValues, Plot } from './chart/plot';
import { origin } from './chart/data';

export interface ChartRun {
  id: string;
  label: string;
  color: string;
}

interface Props {
  metricKey: string;
  runs: ChartRun[];
  /** Points per run asked of the server (at most 2,500). */
  maxPoints?: number;
  height?: number;
  /** Charts sharing a key move their cursors together. */
  syncKey?: string;
  /** Scrolls to the chart and outlines it (a link from a metrics table). */
  highlighted?: boolean;
}

type PlotModule = typeof import('./chart/plot');
let plotModule: Promise<PlotModule> | undefined;
/** uPlot and its CSS, fetched once on the first chart. */
const loadPlot = () => (plotModule ??= import('./chart/plot'));

export function MetricChart({ metricKey, runs, maxPoints = 1000, height = 220, syncKey, highlighted }: Props) {
  const card = useRef<HTMLElement>(null);
  const canvasBox = useRef<HTMLDivElement>(null);
  const plotRef = useRef<Plot>();
  const xLabel = useRef<HTMLSpanElement>(null);
  const valueCells = useRef<(HTMLElement | null)[]>([]);
  const [visible, setVisible] = useState(false);
  const [full, setFull] = useState<History[]>();
  const [mod, setMod] = useState<PlotModule>();
  const [error, setError] = useState<Error>();
  const [zoomed, setZoomed] = useState(false);
  const [hiddenByLog, setHiddenByLog] = useState(0);
  const [logImpossible, setLogImpossible] = useState(false);
  const settings = chartSettings.value;
  const themeVersion = useThemeVersion();
  const runKey = runs.map((r) => `${r.id}:${r.label}:${r.color}`).join('|');
  const idKey = runs.map((r) => r.id).join('|');
  const runIds = useMemo(() => runs.map((r) => r.id), [idKey]);

  // Fetch only once the chart is near the viewport: a run with 200 metrics stays cheap.
  useEffect(() => {
    const el = card.current;
    if (!el) return;
    if (typeof IntersectionObserver === 'undefined') return setVisible(true);
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setVisible(true), {
      rootMargin: '300px 0px',
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!visible) return;
    const controller = new AbortController();
    setFull(undefined);
    setError(undefined);
    loadPlot().then(setMod, (err: Error) => setError(new Error(`The chart library failed to load: ${err.message}`)));
    getHistories({ runIds, key: metricKey, maxResults: maxPoints }, controller.signal).then(
      (data) => !controller.signal.aborted && setFull(data),
      (err: Error) => !controller.signal.aborted && err.name !== 'AbortError' && setError(err),
    );
    return () => controller.abort();
  }, [visible, metricKey, runIds, maxPoints]);

  const empty = full !== undefined && full.every((h) => h.steps.length === 0);
  const origins = useMemo(() => (full ?? []).map(origin), [full]);

  // Build the chart; rebuilt when the axis, the scale, the theme or the data change.
  useEffect(() => {
    const box = canvasBox.current;
    if (!mod || !full || empty || !box) return;
    let zoomController: AbortController | undefined;
    const plot = mod.createPlot(
      box,
      {
        runs,
        histories: full,
        origins,
        settings: chartSettings.peek(),
        theme: chartTheme(),
        width: Math.max(200, box.clientWidth),
        height,
        syncKey,
      },
      {
        onCursor: (values) => showValues(values),
        onZoom: (window) => {
          zoomController?.abort();
          setZoomed(window !== undefined);
          if (!window) {
            plot.setHistories(full, false);
            return;
          }
          const controller = new AbortController();
          zoomController = controller;
          getHistories({ runIds, key: metricKey, maxResults: maxPoints, steps: window }, controller.signal).then(
            (data) => !controller.signal.aborted && plot.setHistories(data, true),
            () => undefined, // the sampled view stays; a failed refetch only loses detail
          );
        },
      },
    );
    plotRef.current = plot;
    setHiddenByLog(plot.hiddenByLog());
    setLogImpossible(plot.logImpossible);
    setZoomed(false);
    box.dataset.state = 'ready';
    box.dataset.points = String(full.reduce((n, h) => n + h.steps.length, 0));
    const resize = new ResizeObserver(() => plot.setSize(Math.max(200, box.clientWidth), height));
    resize.observe(box);
    return () => {
      zoomController?.abort();
      resize.disconnect();
      plot.destroy();
      plotRef.current = undefined;
      delete box.dataset.state;
    };
  }, [mod, full, settings.xAxis, settings.logY, themeVersion, height, syncKey, runKey]);

  useEffect(() => {
    const plot = plotRef.current;
    if (!plot) return;
    plot.setSmoothing(settings.smoothing);
    setHiddenByLog(plot.hiddenByLog());
  }, [settings.smoothing]);

  useEffect(() => {
    if (highlighted) card.current?.scrollIntoView({ block: 'center' });
  }, [highlighted]);

  /** The legend's values (under the cursor, else each run's last point), written to the DOM directly. */
  function showValues(values: CursorValues): void {
    if (xLabel.current) xLabel.current.textContent = values.x;
    runs.forEach((_, r) => {
      const cell = valueCells.current[r];
      if (!cell) return;
      const v = values.values[r];
      cell.textContent = !v ? '—' : v.smoothed !== undefined ? `${num(v.smoothed)} (raw ${num(v.raw)})` : num(v.raw);
    });
  }

  const label = `${metricKey} for ${runs.map((r) => r.label).join(', ')}`;
  return (
    <figure class={`chart-card${highlighted ? ' highlight' : ''}`} ref={card} data-metric={metricKey} id={`chart-${metricKey}`}>
      <figcaption>
        <span class="chart-title" title={metricKey}>
          {metricKey}
        </span>
        <span class="chart-x muted" ref={xLabel} />
        {zoomed && (
          <button type="button" class="link chart-reset" onClick={() => plotRef.current?.resetZoom()}>
            Reset zoom
          </button>
        )}
      </figcaption>
      {error ? (
        <div class="chart-message error" role="alert">
          Could not load “{metricKey}”: {error.message}
        </div>
      ) : empty ? (
        <div class="chart-message" style={{ height }}>
          No points logged for this metric.
        </div>
      ) : (
        <div class="chart-body" style={{ minHeight: height }}>
          <div
            class="chart-canvas"
            ref={canvasBox}
            role="img"
            aria-label={`Chart of ${label}. Drag to zoom, double-click to reset.`}
          />
          {!full && <div class="chart-loading">Loading…</div>}
        </div>
      )}
      {logImpossible && <p class="chart-note muted">No value is above 0, so this chart stays on a linear scale.</p>}
      {hiddenByLog > 0 && (
        <p class="chart-note muted">
          {hiddenByLog} value{hiddenByLog === 1 ? '' : 's'} ≤ 0 not shown on the log scale.
        </p>
      )}
      <ul class="chart-legend">
        {runs.map((run, r) => (
          <li key={run.id}>
            <span class="swatch" style={{ background: run.color }} />
            <span class="legend-label" title={run.label}>
              {run.label}
            </span>
            <span class="legend-value" ref={(el) => {
                valueCells.current[r] = el;
              }}>
              —
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

//! A small canvas scatter plot (one point per run) for the compare view: numeric or categorical x,
//! numeric y, log axes when values span several decades, theme colours, a tooltip on hover.
import { useEffect, useRef, useState } from 'preact/hooks';
import { chartTheme, useThemeVersion, type ChartTheme } from '../lib/chartColors';
import { num } from '../lib/format';

export interface ScatterPoint {
  x: number | string;
  y: number;
  label: string;
  color: string;
}

interface Props {
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  height?: number;
}

interface Axis {
  /** Value → position in [0, 1]. */
  pos(v: number | string): number;
  ticks: { at: number; text: string }[];
  log: boolean;
}

const M = { top: 12, right: 18, bottom: 42, left: 64 };

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

function numericAxis(values: number[], count: number): Axis {
  let min = Math.min(...values);
  let max = Math.max(...values);
  const log = min > 0 && max / min >= 100;
  if (log) {
    const lo = Math.floor(Math.log10(min) - 0.1);
    const hi = Math.ceil(Math.log10(max) + 0.1);
    const ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push({ at: (e - lo) / (hi - lo), text: num(Math.pow(10, e)) });
    return { log, ticks, pos: (v) => (Math.log10(Number(v)) - lo) / (hi - lo) };
  }
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  } else {
    const pad = (max - min) * 0.08;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const ticks = [];
  // Counted, not accumulated: near 1e16 a step below the float spacing would never advance `t`.
  const first = Math.ceil(min / step);
  for (let k = 0; k <= count * 3; k++) {
    const t = (first + k) * step;
    if (t > max + step * 1e-9) break;
    ticks.push({ at: (t - min) / (max - min), text: num(Number(t.toPrecision(10))) });
  }
  return { log, ticks, pos: (v) => (Number(v) - min) / (max - min) };
}

function categoryAxis(values: string[]): Axis {
  const cats = [...new Set(values)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const at = (v: string) => (cats.indexOf(v) + 0.5) / cats.length;
  return { log: false, ticks: cats.map((c) => ({ at: at(c), text: c })), pos: (v) => at(String(v)) };
}

function draw(canvas: HTMLCanvasElement, width: number, height: number, props: Props, theme: ChartTheme) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return [];
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, width, height);
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const numericX = props.points.every((p) => typeof p.x === 'number');
  const xAxis = numericX
    ? numericAxis(props.points.map((p) => p.x as number), Math.max(2, Math.floor(pw / 90)))
    : categoryAxis(props.points.map((p) => String(p.x)));
  const yAxis = numericAxis(props.points.map((p) => p.y), Math.max(2, Math.floor(ph / 50)));
  const px = (v: number | string) => M.left + xAxis.pos(v) * pw;
  const py = (v: number) => M.top + (1 - yAxis.pos(v)) * ph;

  ctx.font = '11px system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xAxis.ticks) {
    const x = Math.round(M.left + t.at * pw) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, M.top);
    ctx.lineTo(x, M.top + ph);
    ctx.stroke();
    ctx.fillText(t.text.length > 18 ? `${t.text.slice(0, 17)}…` : t.text, x, M.top + ph + 6);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yAxis.ticks) {
    const y = Math.round(M.top + (1 - t.at) * ph) + 0.5;
    ctx.beginPath();
    ctx.moveTo(M.left, y);
    ctx.lineTo(M.left + pw, y);
    ctx.stroke();
    ctx.fillText(t.text, M.left - 6, y);
  }
  ctx.strokeStyle = theme.border;
  ctx.strokeRect(M.left + 0.5, M.top + 0.5, pw, ph);
  ctx.fillStyle = theme.fg;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(`${props.xLabel}${xAxis.log ? ' (log)' : ''}`, M.left + pw / 2, height - 4);
  ctx.save();
  ctx.translate(12, M.top + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(`${props.yLabel}${yAxis.log ? ' (log)' : ''}`, 0, 0);
  ctx.restore();

  const placed = props.points.map((p) => ({ point: p, x: px(p.x), y: py(p.y) }));
  for (const { point, x, y } of placed) {
    ctx.beginPath();
    ctx.arc(x, y, 6, 0, Math.PI * 2);
    ctx.fillStyle = point.color;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = theme.bg;
    ctx.stroke();
  }
  return placed;
}

export function ScatterPlot(props: Props) {
  const { height = 320 } = props;
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const placed = useRef<{ point: ScatterPoint; x: number; y: number }[]>([]);
  const [tip, setTip] = useState<{ x: number; y: number; point: ScatterPoint }>();
  const themeVersion = useThemeVersion();

  useEffect(() => {
    const el = box.current;
    const c = canvas.current;
    if (!el || !c) return;
    const render = () => {
      placed.current = draw(c, el.clientWidth, height, props, chartTheme());
    };
    render();
    const observer = new ResizeObserver(render);
    observer.observe(el);
    return () => observer.disconnect();
  }, [props.points, props.xLabel, props.yLabel, height, themeVersion]);

  const onMove = (e: MouseEvent) => {
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const mx = e.clientX - rect.left;
    const my = e.clientY - rect.top;
    let best: (typeof placed.current)[number] | undefined;
    let bestD = 12 * 12;
    for (const p of placed.current) {
      const d = (p.x - mx) ** 2 + (p.y - my) ** 2;
      if (d < bestD) {
        bestD = d;
        best = p;
      }
    }
    setTip(best ? { x: best.x, y: best.y, point: best.point } : undefined);
  };

  return (
    <div class="scatter" ref={box}>
      <canvas
        ref={canvas}
        role="img"
        aria-label={`Scatter plot of ${props.yLabel} against ${props.xLabel} for ${props.points.length} runs`}
        onMouseMove={onMove}
        onMouseLeave={() => setTip(undefined)}
      />
      {tip && (
        <div
          class="scatter-tip"
          style={
            tip.x > (box.current?.clientWidth ?? 0) - 260
              ? { right: (box.current?.clientWidth ?? 0) - tip.x + 10, top: tip.y - 34 }
              : { left: tip.x + 10, top: tip.y - 34 }
          }
        >
          <strong>{tip.point.label}</strong>
          <br />
          {props.xLabel}: {typeof tip.point.x === 'number' ? num(tip.point.x) : tip.point.x} · {props.yLabel}: {num(tip.point.y)}
        </div>
      )}
    </div>
  );
}

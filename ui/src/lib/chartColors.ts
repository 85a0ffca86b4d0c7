//! Colours for canvas charts: the theme's tokens read from CSS, a run palette that works on light
//! and dark backgrounds, and a hook that changes whenever the rendered theme does.
import { useEffect, useState } from 'preact/hooks';
import { theme } from './theme';

export interface ChartTheme {
  fg: string;
  muted: string;
  grid: string;
  border: string;
  bg: string;
  accent: string;
}

/** The current values of the theme's tokens (after a theme switch, they differ). */
export function chartTheme(): ChartTheme {
  const css = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: read('--fg', '#1f2328'),
    muted: read('--fg-muted', '#59636e'),
    grid: read('--chart-grid', '#e4e8ec'),
    border: read('--border', '#d1d9e0'),
    bg: read('--bg', '#ffffff'),
    accent: read('--accent', '#0969da'),
  };
}

/** Distinct hues, readable on both backgrounds (run i gets colour i mod 10). */
const PALETTE = ['#4c78db', '#e4573d', '#2ca25f', '#9c5bd6', '#e6a23c', '#17a6b3', '#d6487e', '#7f8c2d', '#8d6e63', '#5c6bc0'];

export const runColor = (index: number) => PALETTE[index % PALETTE.length];

/** `#rrggbb` with an alpha, for faint raw lines behind smoothed ones. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * A number that changes when the page's theme changes (the toggle, or the system's preference
 * while the toggle says "system"). Use it as an effect dependency to redraw canvases.
 */
export function useThemeVersion(): string {
  const choice = theme.value;
  const [systemDark, setSystemDark] = useState(() => window.matchMedia('(prefers-color-scheme: dark)').matches);
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setSystemDark(media.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  return `${choice}:${systemDark}`;
}

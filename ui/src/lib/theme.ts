//! Light and dark themes: the system's preference unless the user picked one (kept in localStorage).
import { signal } from '@preact/signals';

export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'keel.theme';

function stored(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export const theme = signal<ThemeChoice>(stored());

function apply(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

apply(theme.value);

/** Cycles system → light → dark and remembers the choice. */
export function cycleTheme(): void {
  const next: ThemeChoice = theme.value === 'system' ? 'light' : theme.value === 'light' ? 'dark' : 'system';
  theme.value = next;
  if (next === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, next);
  apply(next);
}

/** Whether the page currently renders dark (for canvas colours). */
export function isDark(): boolean {
  const forced = document.documentElement.getAttribute('data-theme');
  if (forced) return forced === 'dark';
  return window.matchMedia('(prefers-color-scheme: dark)').matches;
}

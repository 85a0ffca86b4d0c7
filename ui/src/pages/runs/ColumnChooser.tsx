//! The "Columns" menu of the runs table: checkboxes for the attributes and every metric, param and
//! tag key seen in the loaded runs, a find box for long key lists, and show all / hide all / default.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ATTRIBUTE_COLUMNS, type Column, type Keys, keyColumn } from './columns';

interface Props {
  keys: Keys;
  visible: Set<string>;
  /** A new explicit choice, or undefined to go back to the default. */
  onChange: (visible: Set<string> | undefined) => void;
}

export function ColumnChooser({ keys, visible, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [find, setFind] = useState('');
  const root = useRef<HTMLDivElement>(null);
  const findRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!open) return;
    findRef.current?.focus();
    const onDown = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const groups: [string, Column[]][] = [
    ['Attributes', ATTRIBUTE_COLUMNS],
    ['Metrics', keys.metrics.map((k) => keyColumn('metrics', k))],
    ['Params', keys.params.map((k) => keyColumn('params', k))],
    ['Tags', keys.tags.map((k) => keyColumn('tags', k))],
  ];
  const all = groups.flatMap(([, cols]) => cols);
  const shown = all.filter((c) => visible.has(c.id)).length;
  const needle = find.trim().toLowerCase();
  const matches = (c: Column) => !needle || c.label.toLowerCase().includes(needle);

  const toggle = (id: string) => {
    const next = new Set(visible);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    onChange(next);
  };
  const setMany = (cols: Column[], on: boolean) => {
    const next = new Set(visible);
    for (const c of cols) {
      if (on) next.add(c.id);
      else next.delete(c.id);
    }
    onChange(next);
  };

  return (
    <div class="chooser" ref={root}>
      <button
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        title="Choose the table's columns"
      >
        Columns <span class="muted">{shown}/{all.length}</span>
      </button>
      {open && (
        <div
          class="chooser-panel"
          role="dialog"
          aria-label="Choose columns"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              setOpen(false);
              (root.current?.querySelector('button') as HTMLButtonElement | null)?.focus();
            }
          }}
        >
          <input
            ref={findRef}
            type="search"
            placeholder="Find a column"
            aria-label="Find a column"
            value={find}
            onInput={(e) => setFind((e.target as HTMLInputElement).value)}
          />
          <div class="chooser-actions">
            <button type="button" class="link" onClick={() => setMany(all.filter(matches), true)}>
              Show all{needle ? ' found' : ''}
            </button>
            <button type="button" class="link" onClick={() => setMany(all.filter(matches), false)}>
              Hide all{needle ? ' found' : ''}
            </button>
            <button type="button" class="link" onClick={() => onChange(undefined)}>
              Default
            </button>
          </div>
          <div class="chooser-groups">
            {groups.map(([title, cols]) => {
              const found = cols.filter(matches);
              if (cols.length === 0 || found.length === 0) return null;
              return (
                <fieldset key={title}>
                  <legend>
                    {title} <span class="muted">{cols.length}</span>
                  </legend>
                  {found.map((c) => (
                    <label key={c.id} class="check" title={c.label}>
                      <input type="checkbox" checked={visible.has(c.id)} onChange={() => toggle(c.id)} />
                      <span>{c.label}</span>
                    </label>
                  ))}
                </fieldset>
              );
            })}
            {keys.tags.length === 0 && !needle && <p class="muted hint">No tags besides the client's own mlflow.* tags.</p>}
          </div>
        </div>
      )}
    </div>
  );
}

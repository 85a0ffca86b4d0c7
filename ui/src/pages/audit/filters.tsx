//! The audit page's filters, kept in the hash query so that a link reproduces the view
//! (`#/audit?actor=ada&action=runs.update&kind=Run&id=<run>&outcome=success&from=<ISO>&to=<ISO>`),
//! and the form that edits them (applied on submit, reset by back/forward or a History link).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type AuditFilter, OUTCOMES, RESOURCE_KINDS } from '../../api/audit';
import { href, navigate } from '../../router';

/** The filter as the URL holds it: every value a string, times as ISO 8601 instants. */
export interface FilterText {
  actor: string;
  action: string;
  kind: string;
  id: string;
  outcome: string;
  from: string;
  to: string;
}

const KEYS: (keyof FilterText)[] = ['actor', 'action', 'kind', 'id', 'outcome', 'from', 'to'];

export function filterText(query: URLSearchParams): FilterText {
  return Object.fromEntries(KEYS.map((k) => [k, query.get(k)?.trim() ?? ''])) as unknown as FilterText;
}

const millis = (iso: string) => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

/** What the search API is asked (times that do not parse are left out, and reported). */
export function toApiFilter(f: FilterText): AuditFilter {
  const blank = (v: string) => v || undefined;
  return {
    actor: blank(f.actor),
    action: blank(f.action),
    resource_kind: blank(f.kind),
    resource_id: blank(f.id),
    outcome: blank(f.outcome),
    since: millis(f.from),
    until: millis(f.to),
  };
}

/** Which time fields of the URL do not parse. */
export const badTimes = (f: FilterText) => (['from', 'to'] as const).filter((k) => f[k] !== '' && millis(f[k]) === undefined);

export const isFiltered = (f: FilterText) => KEYS.some((k) => f[k] !== '');

/** The audit page's link for a filter. */
export const auditHref = (f: Partial<FilterText>) => href(['audit'], f);

/** An ISO instant as a `datetime-local` input shows it (the browser's time zone). */
function toLocalInput(iso: string): string {
  const ms = millis(iso);
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = d.getSeconds() ? `:${pad(d.getSeconds())}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}${seconds}`;
}

/** A `datetime-local` value (local time) as an ISO instant for the URL. */
function fromLocalInput(value: string): string {
  const ms = value ? new Date(value).getTime() : NaN;
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/** A labelled filter (the label names the control alone, not the control's value too). */
function Field({ id, label, children }: { id: string; label: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}

const toDraft = (f: FilterText): FilterText => ({ ...f, from: toLocalInput(f.from), to: toLocalInput(f.to) });

export function FilterForm({ current, actions }: { current: FilterText; actions: string[] }) {
  const [draft, setDraft] = useState(() => toDraft(current));
  const key = JSON.stringify(current);
  // The URL changed (back/forward, a link): the form shows it.
  useEffect(() => setDraft(toDraft(current)), [key]);
  const set = (k: keyof FilterText) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const apply = (next: FilterText) => navigate(auditHref({ ...next, from: fromLocalInput(next.from), to: fromLocalInput(next.to) }), true);
  const kinds: string[] = [...RESOURCE_KINDS];
  if (draft.kind && !kinds.includes(draft.kind)) kinds.push(draft.kind);
  return (
    <form
      class="audit-filters"
      role="search"
      aria-label="Filter audit entries"
      onSubmit={(e) => {
        e.preventDefault();
        apply({ ...draft, actor: draft.actor.trim(), action: draft.action.trim(), id: draft.id.trim() });
      }}
    >
      <Field id="audit-filter-actor" label="Actor">
        <input id="audit-filter-actor" name="actor" value={draft.actor} onInput={set('actor')} placeholder="account name" autocomplete="off" />
      </Field>
      <Field id="audit-filter-action" label="Action">
        <input id="audit-filter-action" name="action" value={draft.action} onInput={set('action')} placeholder="runs.update" list="audit-actions" autocomplete="off" />
        <datalist id="audit-actions">
          {actions.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </Field>
      <Field id="audit-filter-kind" label="Resource kind">
        <select id="audit-filter-kind" name="kind" value={draft.kind} onChange={set('kind')}>
          <option value="">any</option>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </Field>
      <Field id="audit-filter-id" label="Resource ID">
        <input id="audit-filter-id" name="id" value={draft.id} onInput={set('id')} placeholder="run ID, model name, name/version…" autocomplete="off" />
      </Field>
      <Field id="audit-filter-outcome" label="Outcome">
        <select id="audit-filter-outcome" name="outcome" value={draft.outcome} onChange={set('outcome')}>
          <option value="">any</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </Field>
      <Field id="audit-filter-from" label="From">
        <input id="audit-filter-from" name="from" type="datetime-local" step={1} value={draft.from} onInput={set('from')} />
      </Field>
      <Field id="audit-filter-to" label="To">
        <input id="audit-filter-to" name="to" type="datetime-local" step={1} value={draft.to} onInput={set('to')} title="Entries before this time" />
      </Field>
      <div class="buttons">
        <button type="submit" class="primary">
          Apply
        </button>
        {isFiltered(current) && (
          <button type="button" class="ghost" onClick={() => apply(filterText(new URLSearchParams()))}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}

//! An experiment's Traces tab: the traces table with a search-grammar filter (kept in the hash),
//! sorting by time or duration, "Load more" paging, and an empty state that shows how to trace.
import { useEffect, useState } from 'preact/hooks';
import { assessmentSummary, searchTraces, tokenText, traceTokenUsage } from '../api/traces';
import type { Experiment, TraceInfo } from '../api/types';
import { EmptyState, ErrorBanner, Loading, Snippet } from '../components/Status';
import { Time } from '../components/Time';
import { usePagedList } from '../lib/usePagedList';
import { href, location, navigate, setQueryParam } from '../router';
import { StateBadge, traceDuration, userTags } from './trace/badges';
import '../styles/traces.css';

type Sort = 'time_desc' | 'time_asc' | 'duration_desc' | 'duration_asc';

const ORDER_BY: Record<Sort, string> = {
  time_desc: 'timestamp_ms DESC',
  time_asc: 'timestamp_ms ASC',
  duration_desc: 'execution_time_ms DESC',
  duration_asc: 'execution_time_ms ASC',
};

const EXAMPLES = ["trace.status = 'ERROR'", "span.name = 'retrieve'", "feedback.correct = 'true'", 'execution_time_ms > 1000', "tags.env = 'prod'"];

const firstTrace = (experimentId: string) => `import mlflow
mlflow.set_tracking_uri("${window.location.origin}")
mlflow.set_experiment(experiment_id="${experimentId}")

@mlflow.trace
def answer(question: str) -> str:
    return "42"

answer("What is the meaning of life?")`;

export function TracesTab({ experiment }: { experiment: Experiment }) {
  const experimentId = experiment.experiment_id;
  const filter = location.value.query.get('filter') ?? '';
  const sortParam = location.value.query.get('sort') as Sort | null;
  const sort: Sort = sortParam && sortParam in ORDER_BY ? sortParam : 'time_desc';
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);

  // One list per experiment, filter and order: a later page of an old one is dropped by the hook.
  const page = usePagedList<TraceInfo>(
    async (pageToken, signal) => {
      const body = await searchTraces({ experimentId, filter, orderBy: ORDER_BY[sort], pageToken }, signal);
      return { items: body.traces ?? [], next: body.next_page_token };
    },
    [experimentId, filter, sort],
  );
  const traces = page.items ?? [];

  const apply = (value: string) => {
    setText(value);
    setQueryParam('filter', value.trim() || undefined);
  };

  const showTokens = traces.some((t) => traceTokenUsage(t));
  const showTags = traces.some((t) => userTags(t).length > 0);
  const traceHref = (t: TraceInfo) => href(['experiments', experimentId, 'traces', t.trace_id]);

  return (
    <div class="traces-tab">
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          apply(text);
        }}
      >
        <input
          class="search"
          type="search"
          data-search
          placeholder="Filter traces, e.g. span.name = 'retrieve' AND trace.status = 'OK' (Enter to apply, / to focus)"
          aria-label="Filter traces"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Apply</button>
        {filter && (
          <button type="button" class="ghost" onClick={() => apply('')}>
            Clear
          </button>
        )}
      </form>
      <div class="filter-examples muted">
        Examples:
        {EXAMPLES.map((example) => (
          <button key={example} type="button" class="example" onClick={() => apply(example)}>
            {example}
          </button>
        ))}
      </div>
      {page.error && <ErrorBanner error={page.error} onRetry={page.reload} />}
      {page.loading && !page.items ? (
        <Loading label="Loading traces…" />
      ) : page.error && !page.items ? null : traces.length === 0 ? (
        filter ? (
          <EmptyState title="No trace matches this filter">
            <p>
              Nothing in this experiment matches <code>{filter}</code>. Loosen the filter or clear it.
            </p>
          </EmptyState>
        ) : (
          <EmptyState title="No traces in this experiment yet">
            <p>Decorate a function with @mlflow.trace and call it; each call is recorded as a trace here.</p>
            <Snippet code={firstTrace(experimentId)} />
          </EmptyState>
        )
      ) : (
        <>
          <table class="grid traces" aria-label="Traces">
            <thead>
              <tr>
                <th>Trace</th>
                <th>Request</th>
                <th>Response</th>
                <th>State</th>
                <SortHeader label="Requested" sort={sort} asc="time_asc" desc="time_desc" />
                <SortHeader label="Duration" sort={sort} asc="duration_asc" desc="duration_desc" />
                {showTokens && <th>Tokens</th>}
                <th>Assessments</th>
                {showTags && <th>Tags</th>}
              </tr>
            </thead>
            <tbody>
              {traces.map((t) => (
                <TraceRow key={t.trace_id} trace={t} link={traceHref(t)} showTokens={showTokens} showTags={showTags} />
              ))}
            </tbody>
          </table>
          <div class="toolbar list-footer">
            <span class="muted">
              {traces.length} trace{traces.length === 1 ? '' : 's'}
              {page.hasMore ? ' shown, more available' : ''}
            </span>
            {page.hasMore && (
              <button type="button" onClick={page.loadMore} disabled={page.loadingMore || page.loading}>
                {page.loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
          {page.moreError && <ErrorBanner error={page.moreError} onRetry={page.loadMore} />}
        </>
      )}
    </div>
  );
}

function SortHeader({ label, sort, asc, desc }: { label: string; sort: Sort; asc: Sort; desc: Sort }) {
  const active = sort === asc || sort === desc;
  const next = sort === desc ? asc : desc;
  return (
    <th aria-sort={active ? (sort === asc ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        class="sort"
        title={`Sort by ${label.toLowerCase()}`}
        onClick={() => setQueryParam('sort', next === 'time_desc' ? undefined : next)}
      >
        {label}
        <span class="arrow" aria-hidden="true">
          {active ? (sort === asc ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}

function TraceRow({ trace, link, showTokens, showTags }: { trace: TraceInfo; link: string; showTokens: boolean; showTags: boolean }) {
  const name = trace.tags?.['mlflow.traceName'];
  const usage = traceTokenUsage(trace);
  const tags = userTags(trace);
  const assessments = (trace.assessments ?? []).filter((a) => a.valid !== false);
  const open = (e: Event) => {
    if ((e.target as HTMLElement).closest('a, button')) return;
    navigate(link);
  };
  return (
    <tr
      tabIndex={0}
      data-trace-id={trace.trace_id}
      class="clickable"
      onClick={open}
      onKeyDown={(e) => {
        if (e.key === 'Enter' && e.target === e.currentTarget) navigate(link);
      }}
    >
      <td class="trace-id">
        <a href={link} class="mono" title={trace.trace_id}>
          {trace.trace_id}
        </a>
        {name && <div class="trace-name">{name}</div>}
      </td>
      <td>
        <Preview text={trace.request_preview} />
      </td>
      <td>
        <Preview text={trace.response_preview} />
      </td>
      <td>
        <StateBadge state={trace.state} />
      </td>
      <td class="nowrap">
        <Time value={trace.request_time} />
      </td>
      <td class="num nowrap">{traceDuration(trace)}</td>
      {showTokens && <td class="num nowrap">{usage ? <span title={tokenText(usage)}>{usage.total_tokens?.toLocaleString()}</span> : '—'}</td>}
      <td>
        <div class="chips">
          {assessments.length === 0 && <span class="muted">—</span>}
          {assessments.map((a) => {
            const v = a.feedback?.value;
            const tone = v === true ? 'ok' : v === false ? 'error' : '';
            return (
              <span key={a.assessment_id} class={`badge ${tone}`} title={a.rationale}>
                {assessmentSummary(a)}
              </span>
            );
          })}
        </div>
      </td>
      {showTags && (
        <td>
          <div class="chips">
            {tags.map(([k, v]) => (
              <span key={k} class="badge tag" title={`${k}: ${v}`}>
                {k}: {v}
              </span>
            ))}
          </div>
        </td>
      )}
    </tr>
  );
}

function Preview({ text }: { text: string | undefined }) {
  if (!text) return <span class="muted">—</span>;
  return (
    <div class="preview mono" title={text.length > 2000 ? `${text.slice(0, 2000)}…` : text}>
      {text}
    </div>
  );
}

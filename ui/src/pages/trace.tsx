//! A trace: its header (ID, state, time, duration, tokens, tags, metadata), its assessments, and the
//! span tree with a timeline next to the selected span's detail. The tree comes from Keel's span
//! skeleton (fast for 30,000 spans); a span's content loads when it is selected (`?span=<id>`).
import { useMemo } from 'preact/hooks';
import { getExperiment } from '../api/experiments';
import { getSpanSkeleton, getTraceInfo, tokenText, traceTokenUsage } from '../api/traces';
import type { TraceInfo } from '../api/types';
import { EmptyState, ErrorBanner, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { href, location, setQueryParam } from '../router';
import { AssessmentList } from './trace/assessments';
import { StateBadge, traceDuration, userTags } from './trace/badges';
import { SpanDetail } from './trace/spanDetail';
import { durationUs, SpanTreeView } from './trace/spanTree';
import { buildTree, ID, NAME, type SpanTree } from './trace/tree';
import '../styles/traces.css';

export default function TracePage({ experimentId, traceId }: { experimentId: string; traceId: string }) {
  const info = useAsync((signal) => getTraceInfo(traceId, signal), [traceId]);
  const experiment = useAsync((signal) => getExperiment(experimentId, signal).catch(() => undefined), [experimentId]);
  const skeleton = useAsync(async (signal) => buildTree(await getSpanSkeleton(traceId, signal)), [traceId]);
  const trace = info.data;
  const name = trace?.tags?.['mlflow.traceName'];
  useTitle(name ?? traceId, 'Trace');

  const crumbs = (
    <div class="breadcrumbs">
      <a href="#/">Experiments</a>
      <a href={href(['experiments', experimentId])}>{experiment.data?.name ?? `Experiment ${experimentId}`}</a>
      <a href={href(['experiments', experimentId, 'traces'])}>Traces</a>
      <span class="mono">{traceId}</span>
    </div>
  );

  if (info.error) {
    return (
      <section>
        {crumbs}
        <h1>Trace {traceId}</h1>
        <ErrorBanner error={info.error} onRetry={info.reload} />
      </section>
    );
  }
  if (!trace) {
    return (
      <section>
        {crumbs}
        <h1>{traceId}</h1>
        <Loading label="Loading the trace…" />
      </section>
    );
  }
  return (
    <section class="trace-page">
      {crumbs}
      <TraceHeader trace={trace} tree={skeleton.data} />
      <Assessments trace={trace} tree={skeleton.data} />
      {skeleton.error ? (
        <ErrorBanner error={skeleton.error} onRetry={skeleton.reload} />
      ) : !skeleton.data ? (
        <Loading label="Loading spans…" />
      ) : skeleton.data.rows.length === 0 ? (
        <EmptyState title="This trace has no spans yet">
          <p>Its spans may still be on their way from the client. Reload in a moment.</p>
        </EmptyState>
      ) : (
        <Spans key={traceId} trace={trace} tree={skeleton.data} />
      )}
    </section>
  );
}

function TraceHeader({ trace, tree }: { trace: TraceInfo; tree: SpanTree | undefined }) {
  const spans = tree?.rows.length;
  const name = trace.tags?.['mlflow.traceName'];
  const usage = traceTokenUsage(trace);
  const tags = userTags(trace);
  const metadata = Object.entries(trace.trace_metadata ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const systemTags = Object.entries(trace.tags ?? {})
    .filter(([k]) => k.startsWith('mlflow.'))
    .sort(([a], [b]) => a.localeCompare(b));
  return (
    <header class="trace-header">
      <div class="page-header">
        <h1>{name ?? trace.trace_id}</h1>
        <StateBadge state={trace.state} />
      </div>
      <dl class="facts trace-facts">
        <div>
          <dt>Trace ID</dt>
          <dd class="mono">{trace.trace_id}</dd>
        </div>
        <div>
          <dt>Requested</dt>
          <dd>
            <Time value={trace.request_time} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            {/* The spans' own range is finer than the info's whole milliseconds. */}
            {tree && tree.rows.length ? durationUs(tree.endUs - tree.startUs) : traceDuration(trace)}
          </dd>
        </div>
        {usage && (
          <div>
            <dt>Tokens</dt>
            <dd>{tokenText(usage)}</dd>
          </div>
        )}
        {spans !== undefined && (
          <div>
            <dt>Spans</dt>
            <dd>{spans.toLocaleString()}</dd>
          </div>
        )}
        {trace.client_request_id && (
          <div>
            <dt>Client request ID</dt>
            <dd class="mono">{trace.client_request_id}</dd>
          </div>
        )}
      </dl>
      {tags.length > 0 && (
        <div class="chips trace-tags" aria-label="Tags">
          {tags.map(([k, v]) => (
            <span key={k} class="badge tag" title={`${k}: ${v}`}>
              {k}: {v}
            </span>
          ))}
        </div>
      )}
      <details class="trace-metadata">
        <summary>
          Metadata and system tags ({metadata.length + systemTags.length})
        </summary>
        <table class="kv" aria-label="Trace metadata">
          <tbody>
            {metadata.map(([k, v]) => (
              <tr key={`m:${k}`}>
                <td>{k}</td>
                <td>{v}</td>
              </tr>
            ))}
            {systemTags.map(([k, v]) => (
              <tr key={`t:${k}`}>
                <td>tag {k}</td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </header>
  );
}

function Assessments({ trace, tree }: { trace: TraceInfo; tree: SpanTree | undefined }) {
  const assessments = trace.assessments ?? [];
  const spanName = (spanId: string) => {
    const i = tree?.byId.get(spanId);
    return i === undefined ? undefined : tree!.rows[i][NAME];
  };
  return (
    <section class="trace-assessments" aria-label="Assessments">
      <h2>Assessments</h2>
      {assessments.length ? (
        <AssessmentList assessments={assessments} spanName={spanName} onSpan={(spanId) => setQueryParam('span', spanId)} />
      ) : (
        <p class="muted">
          None yet. Log feedback with <code>mlflow.log_feedback(trace_id="{trace.trace_id}", name="correct", value=True)</code>.
        </p>
      )}
    </section>
  );
}

function Spans({ trace, tree }: { trace: TraceInfo; tree: SpanTree }) {
  const wanted = location.value.query.get('span');
  const selected = (wanted ? tree.byId.get(wanted) : undefined) ?? tree.roots[0];
  const select = (index: number) => setQueryParam('span', index === tree.roots[0] ? undefined : tree.rows[index][ID]);
  const assessments = trace.assessments;
  const spanAssessments = useMemo(() => {
    const id = tree.rows[selected][ID];
    return (assessments ?? []).filter((a) => a.span_id === id);
  }, [assessments, selected, tree]);
  return (
    <div class="trace-split">
      <SpanTreeView tree={tree} selected={selected} onSelect={select} />
      <SpanDetail traceId={trace.trace_id} tree={tree} index={selected} assessments={spanAssessments} />
    </div>
  );
}

//! The selected span: what the skeleton already knows at once (name, type, status, timing), then
//! its full content loaded on selection: inputs and outputs (chat as a conversation), token usage,
//! status message, attributes, events and the assessments about this span.
import { useState } from 'preact/hooks';
import { attributeMap, decodeAnyValue, getSpan, nanosToMs, tokenText, tokenUsage } from '../../api/traces';
import type { Assessment, OtelSpan } from '../../api/types';
import { ErrorBanner, Loading } from '../../components/Status';
import { useAsync } from '../../lib/useAsync';
import { AssessmentList } from './assessments';
import { SpanStatus, TypeBadge } from './badges';
import { Conversation, chatMessages, otherKeys } from './chat';
import { durationUs } from './spanTree';
import { END, ID, NAME, START, STATUS, TYPE, type SpanTree } from './tree';

/** Spans already loaded on this page, so moving back and forth does not refetch. */
const loaded = new Map<string, OtelSpan>();
const CACHE_LIMIT = 300;

async function loadSpan(traceId: string, spanId: string, signal: AbortSignal): Promise<OtelSpan> {
  const key = `${traceId}/${spanId}`;
  const hit = loaded.get(key);
  if (hit) return hit;
  const span = await getSpan(traceId, spanId, signal);
  if (loaded.size >= CACHE_LIMIT) loaded.delete(loaded.keys().next().value!);
  loaded.set(key, span);
  return span;
}

/** Attributes shown in their own sections rather than in the attributes table. */
const SHOWN_APART = new Set(['mlflow.spanInputs', 'mlflow.spanOutputs', 'mlflow.chat.tokenUsage']);

export function SpanDetail({
  traceId,
  tree,
  index,
  assessments,
}: {
  traceId: string;
  tree: SpanTree;
  index: number;
  assessments: Assessment[];
}) {
  const row = tree.rows[index];
  const spanId = row[ID];
  const span = useAsync((signal) => loadSpan(traceId, spanId, signal), [traceId, spanId]);
  const end = row[END];
  const data = span.data && !span.loading ? span.data : undefined;
  return (
    <section class="span-detail" aria-label={`Span ${row[NAME]}`}>
      <div class="span-detail-head">
        <h2>{row[NAME]}</h2>
        <TypeBadge type={row[TYPE]} />
        <SpanStatus status={row[STATUS]} />
      </div>
      <dl class="facts">
        <div>
          <dt>Span ID</dt>
          <dd class="mono">{spanId}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{end === null ? 'not ended' : durationUs(end - row[START])}</dd>
        </div>
        <div>
          <dt>Starts at</dt>
          <dd>+{durationUs(row[START] - tree.startUs)}</dd>
        </div>
        {tree.children[index].length > 0 && (
          <div>
            <dt>Children</dt>
            <dd>{tree.children[index].length.toLocaleString()}</dd>
          </div>
        )}
      </dl>
      {span.error && <ErrorBanner error={span.error} onRetry={span.reload} />}
      {!data && !span.error && <Loading label="Loading the span…" />}
      {data && <SpanContent span={data} startUs={tree.startUs} />}
      {assessments.length > 0 && (
        <>
          <h3>Assessments of this span</h3>
          <AssessmentList assessments={assessments} />
        </>
      )}
    </section>
  );
}

function SpanContent({ span, startUs }: { span: OtelSpan; startUs: number }) {
  const attributes = attributeMap(span.attributes);
  const usage = tokenUsage(attributes.get('mlflow.chat.tokenUsage'));
  const rest = [...attributes].filter(([k]) => !SHOWN_APART.has(k));
  const message = span.status?.message;
  return (
    <>
      {message && (
        <div class={`banner ${span.status?.code?.includes('ERROR') ? 'error' : ''}`} role="status">
          <strong>Status message: </strong>
          <span class="message">{message}</span>
        </div>
      )}
      {usage && <p class="tokens">{tokenText(usage)}</p>}
      <ValueSection title="Inputs" value={attributes.get('mlflow.spanInputs')} />
      <ValueSection title="Outputs" value={attributes.get('mlflow.spanOutputs')} />
      <h3>Attributes</h3>
      {rest.length ? (
        <table class="kv attributes" aria-label="Attributes">
          <tbody>
            {rest.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No other attributes.</p>
      )}
      <Events span={span} startUs={startUs} />
    </>
  );
}

function ValueSection({ title, value }: { title: string; value: unknown }) {
  const messages = chatMessages(value);
  const [raw, setRaw] = useState(false);
  const absent = value === undefined;
  return (
    <div class="value-section" data-section={title.toLowerCase()}>
      <div class="section-head">
        <h3>{title}</h3>
        {messages && (
          <div class="segmented" role="group" aria-label={`${title} view`}>
            <button type="button" aria-pressed={!raw} onClick={() => setRaw(false)}>
              Conversation
            </button>
            <button type="button" aria-pressed={raw} onClick={() => setRaw(true)}>
              JSON
            </button>
          </div>
        )}
      </div>
      {absent ? (
        <p class="muted">None recorded.</p>
      ) : messages && !raw ? (
        <>
          <Conversation messages={messages} />
          {otherKeys(value).length > 0 && (
            <p class="muted other-keys">
              Also in the {title.toLowerCase()}: {otherKeys(value).join(', ')} (see JSON).
            </p>
          )}
        </>
      ) : (
        <LongText text={typeof value === 'string' ? value : JSON.stringify(value, null, 2)} />
      )}
    </div>
  );
}

const LONG = 100_000;

/** A text block that shows the first 100,000 characters of a huge value until asked for all. */
function LongText({ text }: { text: string }) {
  const [all, setAll] = useState(false);
  const cut = !all && text.length > LONG;
  return (
    <>
      <pre class="block">{cut ? `${text.slice(0, LONG)}…` : text}</pre>
      {cut && (
        <button type="button" class="link" onClick={() => setAll(true)}>
          Show all {text.length.toLocaleString()} characters
        </button>
      )}
    </>
  );
}

function Events({ span, startUs }: { span: OtelSpan; startUs: number }) {
  const events = span.events ?? [];
  if (!events.length) return null;
  return (
    <>
      <h3>Events</h3>
      <ul class="events">
        {events.map((event, k) => {
          const at = nanosToMs(event.time_unix_nano);
          const attrs = (event.attributes ?? []).map((a) => [a.key, decodeAnyValue(a.value)] as const);
          const stack = attrs.find(([key]) => key === 'exception.stacktrace');
          return (
            <li key={k} class={`event card ${event.name === 'exception' ? 'exception' : ''}`}>
              <div class="event-head">
                <strong>{event.name}</strong>
                {at !== undefined && <span class="muted">+{durationUs(at * 1000 - startUs)}</span>}
              </div>
              {attrs.length > 0 && (
                <table class="kv">
                  <tbody>
                    {attrs
                      .filter(([key]) => key !== 'exception.stacktrace')
                      .map(([key, v]) => (
                        <tr key={key}>
                          <td>{key}</td>
                          <td>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              )}
              {stack && <pre class="block">{String(stack[1])}</pre>}
            </li>
          );
        })}
      </ul>
    </>
  );
}

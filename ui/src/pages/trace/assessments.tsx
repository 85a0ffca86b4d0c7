//! A trace's assessments: feedback and expectations with their value, rationale, source and the
//! span they are about (a link that selects it). Overridden ones are shown dimmed.
import { assessmentKind, assessmentValue, valueText } from '../../api/traces';
import type { Assessment } from '../../api/types';
import { Time } from '../../components/Time';

const SOURCE: Record<string, string> = { HUMAN: 'human', LLM_JUDGE: 'LLM judge', CODE: 'code', SOURCE_TYPE_UNSPECIFIED: 'unknown' };

export function AssessmentList({
  assessments,
  spanName,
  onSpan,
}: {
  assessments: Assessment[];
  /** The name of an assessment's span, if it has one in this trace. */
  spanName?: (spanId: string) => string | undefined;
  onSpan?: (spanId: string) => void;
}) {
  return (
    <ul class="assessments">
      {assessments.map((a) => (
        <AssessmentCard key={a.assessment_id} assessment={a} spanName={spanName} onSpan={onSpan} />
      ))}
    </ul>
  );
}

function AssessmentCard({
  assessment: a,
  spanName,
  onSpan,
}: {
  assessment: Assessment;
  spanName?: (spanId: string) => string | undefined;
  onSpan?: (spanId: string) => void;
}) {
  const kind = assessmentKind(a);
  const value = assessmentValue(a);
  const error = a.feedback?.error;
  const text = valueText(value);
  const tone = value === true ? 'ok' : value === false ? 'error' : '';
  const source = a.source ? `${SOURCE[a.source.source_type] ?? a.source.source_type}${a.source.source_id ? ` · ${a.source.source_id}` : ''}` : undefined;
  const span = a.span_id ? spanName?.(a.span_id) : undefined;
  return (
    <li class={`assessment card ${a.valid === false ? 'overridden' : ''}`} data-assessment={a.assessment_name}>
      <div class="assessment-head">
        <strong class="name">{a.assessment_name}</strong>
        <span class="badge">{kind}</span>
        {a.valid === false && (
          <span class="badge" title="A newer assessment overrides this one">
            overridden
          </span>
        )}
      </div>
      {error && (value === null || value === undefined) ? (
        <div class="value error-text">
          Error{error.error_code ? ` ${error.error_code}` : ''}: {error.error_message ?? 'no message'}
        </div>
      ) : text.length > 80 || (typeof value === 'object' && value !== null) ? (
        <pre class="block value">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
      ) : (
        <div class={`value ${tone}`}>{text}</div>
      )}
      {a.rationale && <p class="rationale">{a.rationale}</p>}
      <div class="meta muted">
        {source && <span title="Source">{source}</span>}
        {a.last_update_time && <Time value={a.last_update_time} />}
        {a.span_id && (
          <span>
            on span{' '}
            {onSpan && span !== undefined ? (
              <button type="button" class="link" onClick={() => onSpan(a.span_id!)}>
                {span}
              </button>
            ) : (
              <code>{a.span_id}</code>
            )}
          </span>
        )}
      </div>
    </li>
  );
}

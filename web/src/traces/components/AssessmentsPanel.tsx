import { useState } from 'react';
import { useAccess, useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { createAssessment, deleteAssessment } from '../api/traces-api.ts';
import type { Assessment } from '../api/types.ts';
import { assessmentKind, assessmentValue, DEFAULT_FEEDBACK_NAME, humanFeedback, sortAssessments, thumbOf } from '../utils/assessments.ts';
import { timestampMillis } from '../utils/trace-info.ts';
import { safeStringify } from './JsonView.tsx';
import { Thumb } from './Thumb.tsx';

/**
 * A trace's assessments (feedback from people, judges and code; expectations), each with its
 * value, rationale and who gave it; and thumbs up/down feedback with a rationale from the page.
 * The author is the signed-in user, or (auth off) the name the reviewer gives, kept in the browser.
 */
export function AssessmentsPanel({ traceId, assessments, onChange }: { traceId: string; assessments: Assessment[]; onChange: () => void }) {
  const can = useCan();
  const access = useAccess();
  const signedIn = access?.session.auth_enabled ? access.session.user?.username : undefined;
  const [reviewer, setReviewer] = useLocalStorage<string>('trove.reviewer', '', (raw) => (typeof raw === 'string' ? raw : undefined));
  const [thumb, setThumb] = useState<'up' | 'down' | undefined>(undefined);
  const [rationale, setRationale] = useState('');
  const [name, setName] = useState(DEFAULT_FEEDBACK_NAME);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const author = signedIn ?? reviewer.trim();
  const writable = can('edit_run');
  const sorted = sortAssessments(assessments);

  const submit = () => {
    if (!thumb || !author) return;
    setBusy(true);
    setError(undefined);
    createAssessment(traceId, humanFeedback({ traceId, name, up: thumb === 'up', rationale, author, now: Date.now() }))
      .then(() => {
        setThumb(undefined);
        setRationale('');
        onChange();
      })
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };

  return (
    <section className="assessments panel" aria-labelledby="assessments-title">
      <h2 id="assessments-title">Assessments ({assessments.filter((a) => a.valid !== false).length})</h2>
      {sorted.length === 0 ? (
        <p className="muted">No feedback or expectations yet.</p>
      ) : (
        <ul className="plain-list assessment-list" aria-label="Assessments">
          {sorted.map((a) => (
            <AssessmentItem key={a.assessment_id ?? `${a.assessment_name}-${a.create_time}`} assessment={a} traceId={traceId} canDelete={writable} onChange={onChange} />
          ))}
        </ul>
      )}
      {writable && (
        <form
          className="feedback-form"
          aria-label="Add feedback"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <h3>Add feedback</h3>
          <div className="thumbs" role="group" aria-label="Rating">
            <button type="button" className={thumb === 'up' ? 'btn active' : 'btn'} aria-pressed={thumb === 'up'} onClick={() => setThumb('up')}>
              <Thumb up /> Thumbs up
            </button>
            <button type="button" className={thumb === 'down' ? 'btn active' : 'btn'} aria-pressed={thumb === 'down'} onClick={() => setThumb('down')}>
              <Thumb up={false} /> Thumbs down
            </button>
          </div>
          <label className="field">
            Rationale (optional)
            <textarea rows={2} value={rationale} onChange={(e) => setRationale(e.target.value)} placeholder="Why? e.g. cites the right document" />
          </label>
          <details className="feedback-more">
            <summary className="small muted">Feedback name</summary>
            <label className="field">
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} />
            </label>
          </details>
          {signedIn ? (
            <p className="muted small">As {signedIn}</p>
          ) : (
            <label className="field">
              Your name
              <input value={reviewer} onChange={(e) => setReviewer(e.target.value)} placeholder="e.g. alice@example.com" required />
            </label>
          )}
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy || !thumb || !author}>
            Submit feedback
          </button>
        </form>
      )}
    </section>
  );
}

function AssessmentItem({ assessment: a, traceId, canDelete, onChange }: { assessment: Assessment; traceId: string; canDelete: boolean; onChange: () => void }) {
  const thumb = thumbOf(a);
  const value = assessmentValue(a);
  const kind = assessmentKind(a);
  const when = timestampMillis(a.last_update_time ?? a.create_time);
  const source = a.source;
  return (
    <li className={`assessment${a.valid === false ? ' superseded' : ''}`} aria-label={`${kind} ${a.assessment_name}`}>
      <div className="assessment-head">
        <strong>{a.assessment_name}</strong>
        <span className="assessment-value">
          {thumb === 'up' ? <span className="thumb-up">
              <Thumb up /> yes
            </span> : thumb === 'down' ? <span className="thumb-down">
              <Thumb up={false} /> no
            </span> : <code>{typeof value === 'string' ? value : safeStringify(value)}</code>}
        </span>
        {kind === 'expectation' && <span className="badge badge-muted">expectation</span>}
        {a.valid === false && <span className="badge badge-muted">superseded</span>}
      </div>
      {a.rationale && <div className="assessment-rationale wrap">{a.rationale}</div>}
      {a.feedback?.error && (
        <div className="error-text small">
          {a.feedback.error.error_code}: {a.feedback.error.error_message}
        </div>
      )}
      <div className="muted small assessment-source">
        by <span className="assessment-author">{source?.source_id || 'unknown'}</span> ({(source?.source_type ?? 'unknown').toLowerCase().replace('_', ' ')}) · {formatTimestamp(when)}
        {canDelete && a.assessment_id && (
          <button
            type="button"
            className="btn-icon small"
            aria-label={`Delete ${a.assessment_name} by ${source?.source_id ?? 'unknown'}`}
            onClick={() => {
              if (window.confirm(`Delete the assessment “${a.assessment_name}”?`))
                deleteAssessment(traceId, a.assessment_id!)
                  .then(onChange)
                  .catch((err: unknown) => window.alert(errorMessage(err)));
            }}
          >
            ×
          </button>
        )}
      </div>
    </li>
  );
}

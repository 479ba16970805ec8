import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatAge, formatTimestamp } from '../../common/utils/format.ts';
import { listWebhooks, webhookActions } from '../api/projects-api.ts';
import { eventLabel, type Webhook, type WebhookTestResult } from '../utils/webhooks.ts';
import { ProjectFrame } from './ProjectFrame.tsx';
import { WebhookForm } from './WebhookForm.tsx';

/** The project's webhooks (MLflow's /mlflow/webhooks API): list, create, edit, delete, test. */
export default function WebhooksPage() {
  const can = useCan();
  const manage = can('manage_webhooks');
  const navigate = useNavigate();
  const webhooks = useApi((signal) => listWebhooks(signal), []);
  const [editing, setEditing] = useState<Webhook | 'new' | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tests, setTests] = useState<Record<string, WebhookTestResult | 'running' | { error: string }>>({});
  const now = Date.now();

  return (
    <ProjectFrame page="webhooks" title="Webhooks">
      <div className="page-head">
        <p className="muted">
          Trove posts model registry events (new versions, alias moves, tags) to these URLs, retrying for 24 hours; each webhook keeps a delivery log.
        </p>
        {manage && (
          <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
            New webhook
          </button>
        )}
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {webhooks.error !== undefined ? (
        <ErrorBox error={webhooks.error} onRetry={webhooks.reload} />
      ) : !webhooks.data ? (
        <Loading label="Loading webhooks…" />
      ) : webhooks.data.length === 0 ? (
        <Empty>No webhooks in this project yet.{manage ? ' Create one to notify CI or a deployment service when a model changes.' : ''}</Empty>
      ) : (
        <table className="data-table" aria-label="Webhooks">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Updated</th>
              {manage && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {webhooks.data.map((w) => {
              const test = tests[w.webhook_id];
              return (
                <tr key={w.webhook_id}>
                  <td>
                    <Link to={`/webhooks/${encodeURIComponent(w.webhook_id)}`}>{w.name}</Link>
                    {w.description && <div className="muted small">{w.description}</div>}
                  </td>
                  <td className="mono small wrap">{w.url}</td>
                  <td className="small">{w.events.map((e) => eventLabel(e)).join(', ')}</td>
                  <td>
                    <span className={`badge ${w.status === 'ACTIVE' ? 'badge-ok' : 'badge-muted'}`}>{w.status.toLowerCase()}</span>
                  </td>
                  <td title={formatTimestamp(w.last_updated_timestamp)}>{formatAge(w.last_updated_timestamp, now)}</td>
                  {manage && (
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        aria-label={`Send a test event to ${w.name}`}
                        disabled={test === 'running'}
                        onClick={() => {
                          setTests({ ...tests, [w.webhook_id]: 'running' });
                          webhookActions
                            .test(w.webhook_id)
                            .then((result) => setTests((t) => ({ ...t, [w.webhook_id]: result })))
                            .catch((err: unknown) => setTests((t) => ({ ...t, [w.webhook_id]: { error: errorMessage(err) } })));
                        }}
                      >
                        Test
                      </button>
                      <button type="button" className="btn btn-small" aria-label={`Edit ${w.name}`} onClick={() => setEditing(w)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        aria-label={`Delete ${w.name}`}
                        onClick={() => {
                          if (!window.confirm(`Delete webhook “${w.name}”? Deliveries still waiting are cancelled.`)) return;
                          setError(undefined);
                          webhookActions
                            .delete(w.webhook_id)
                            .then(() => webhooks.reload())
                            .catch((err: unknown) => setError(errorMessage(err)));
                        }}
                      >
                        Delete
                      </button>
                      {test !== undefined && <TestResult result={test} />}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {editing !== undefined && (
        <WebhookForm
          webhook={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(undefined)}
          onSaved={(saved) => {
            setEditing(undefined);
            if (editing === 'new') navigate(`/webhooks/${encodeURIComponent(saved.webhook_id)}`);
            else webhooks.reload();
          }}
        />
      )}
    </ProjectFrame>
  );
}

/** The answer of one test delivery (no retries). */
export function TestResult({ result }: { result: WebhookTestResult | 'running' | { error: string } }) {
  if (result === 'running') return <div className="test-result muted small" role="status">Sending a test event…</div>;
  if ('error' in result) return <div className="test-result error-text small" role="status">{result.error}</div>;
  return (
    <div className={`test-result small ${result.success ? 'ok-text' : 'error-text'}`} role="status">
      {result.success ? 'Test delivered' : 'Test failed'}
      {result.response_status !== undefined ? ` (HTTP ${result.response_status})` : ''}
      {result.error_message ? `: ${result.error_message}` : ''}
      {result.response_body ? <span className="mono"> {result.response_body.slice(0, 200)}</span> : null}
    </div>
  );
}

import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { Empty, ErrorBox, Facts, Loading, PageError } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { getWebhook, listDeliveries, webhookActions, type DeliveryPage } from '../api/projects-api.ts';
import { DELIVERY_STATUSES, eventLabel, type Delivery, type DeliveryStatus, type WebhookTestResult } from '../utils/webhooks.ts';
import { ProjectFrame } from './ProjectFrame.tsx';
import { WebhookForm } from './WebhookForm.tsx';
import { TestResult } from './WebhooksPage.tsx';

const STATUS_BADGE: Record<string, string> = { DELIVERED: 'badge-ok', PENDING: 'badge-running', FAILED: 'badge-failed', CANCELLED: 'badge-muted' };

/** One webhook: its settings, test, edit, delete, and its delivery log (GET .../trove/webhooks/{id}/deliveries). */
export default function WebhookPage() {
  const { webhookId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const status = DELIVERY_STATUSES.find((s) => s === params.get('status'));
  const can = useCan();
  const manage = can('manage_webhooks');
  const navigate = useNavigate();
  const webhook = useApi((signal) => getWebhook(webhookId, signal), [webhookId]);
  const [editing, setEditing] = useState(false);
  const [test, setTest] = useState<WebhookTestResult | 'running' | { error: string } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const w = webhook.data;

  return (
    <ProjectFrame page="webhooks" title="Webhooks">
      <p>
        <Link to="/webhooks">← All webhooks</Link>
      </p>
      {webhook.error !== undefined ? (
        <PageError error={webhook.error} what="Webhook" onRetry={webhook.reload} />
      ) : !w ? (
        <Loading label="Loading webhook…" />
      ) : (
        <>
          <div className="page-head">
            <h2>{w.name}</h2>
            {manage && (
              <div className="row-actions">
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={test === 'running'}
                  onClick={() => {
                    setTest('running');
                    webhookActions
                      .test(w.webhook_id)
                      .then((result) => {
                        setTest(result);
                        setGeneration((g) => g + 1);
                      })
                      .catch((err: unknown) => setTest({ error: errorMessage(err) }));
                  }}
                >
                  Send test event
                </button>
                <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
                  Edit
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  onClick={() => {
                    if (!window.confirm(`Delete webhook “${w.name}”? Deliveries still waiting are cancelled.`)) return;
                    webhookActions
                      .delete(w.webhook_id)
                      .then(() => navigate('/webhooks'))
                      .catch((err: unknown) => setError(errorMessage(err)));
                  }}
                >
                  Delete
                </button>
              </div>
            )}
          </div>
          {test !== undefined && <TestResult result={test} />}
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
          <Facts
            items={[
              ['URL', <span className="mono small">{w.url}</span>],
              ['Status', <span className={`badge ${w.status === 'ACTIVE' ? 'badge-ok' : 'badge-muted'}`}>{w.status.toLowerCase()}</span>],
              ['Events', w.events.map((e) => eventLabel(e)).join(', ')],
              ['Description', w.description || '—'],
              ['Created', formatTimestamp(w.creation_timestamp)],
              ['Updated', formatTimestamp(w.last_updated_timestamp)],
              ['ID', <span className="mono small">{w.webhook_id}</span>],
            ]}
          />
        </>
      )}
      {webhook.error === undefined && (
        <section aria-label="Delivery log">
          <div className="section-head">
            <h2>Delivery log</h2>
            <label>
              Status{' '}
              <select
                value={status ?? ''}
                onChange={(e) => {
                  const next = new URLSearchParams(params);
                  if (e.target.value) next.set('status', e.target.value);
                  else next.delete('status');
                  setParams(next, { replace: true });
                }}
              >
                <option value="">all</option>
                {DELIVERY_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s.toLowerCase()}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="btn btn-small" onClick={() => setGeneration((g) => g + 1)}>
              Refresh
            </button>
          </div>
          <Deliveries key={`${status ?? ''}-${generation}`} webhookId={webhookId} status={status} />
        </section>
      )}
      {editing && w && (
        <WebhookForm
          webhook={w}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            webhook.reload();
          }}
        />
      )}
    </ProjectFrame>
  );
}

function Deliveries({ webhookId, status }: { webhookId: string; status: DeliveryStatus | undefined }) {
  const first = useApi((signal) => listDeliveries(webhookId, status, undefined, signal), [webhookId, status]);
  const [more, setMore] = useState<DeliveryPage[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  if (first.error !== undefined) return <ErrorBox error={first.error} onRetry={first.reload} />;
  if (!first.data) return <Loading label="Loading deliveries…" />;
  const pages = [first.data, ...more];
  const rows = pages.flatMap((p) => p.deliveries);
  const nextToken = pages[pages.length - 1]?.next_page_token;
  if (rows.length === 0) return <Empty>No deliveries{status ? ` with status ${status.toLowerCase()}` : ' yet'}.</Empty>;
  return (
    <>
      <table className="data-table" aria-label="Deliveries">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Created</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Next attempt</th>
            <th scope="col">Last answer</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <DeliveryRow key={d.delivery_id} delivery={d} />
          ))}
        </tbody>
      </table>
      {error !== undefined && <ErrorBox error={error} />}
      {nextToken && (
        <button
          type="button"
          className="btn"
          disabled={loadingMore}
          onClick={() => {
            setLoadingMore(true);
            listDeliveries(webhookId, status, nextToken)
              .then((page) => setMore([...more, page]))
              .catch((err: unknown) => setError(err))
              .finally(() => setLoadingMore(false));
          }}
        >
          {loadingMore ? 'Loading…' : 'Load older deliveries'}
        </button>
      )}
    </>
  );
}

function DeliveryRow({ delivery: d }: { delivery: Delivery }) {
  return (
    <tr>
      <td>
        {eventLabel({ entity: d.entity, action: d.action })}
        <div className="mono small muted" title="X-MLflow-Delivery-Id">
          {d.delivery_id}
        </div>
      </td>
      <td>
        <span className={`badge ${STATUS_BADGE[d.status] ?? 'badge-muted'}`}>{d.status.toLowerCase()}</span>
      </td>
      <td className="num">{d.attempts}</td>
      <td>{formatTimestamp(d.creation_timestamp)}</td>
      <td>{formatTimestamp(d.last_attempt_timestamp)}</td>
      <td>{d.status === 'PENDING' ? formatTimestamp(d.next_attempt_timestamp) : '—'}</td>
      <td className="small">
        {d.last_response_status !== undefined && <span className="mono">HTTP {d.last_response_status}</span>}
        {d.last_error && <div className="error-text">{d.last_error}</div>}
        {d.last_response_body && (
          <details>
            <summary>response body</summary>
            <pre className="wrap mono small">{d.last_response_body}</pre>
          </details>
        )}
      </td>
    </tr>
  );
}

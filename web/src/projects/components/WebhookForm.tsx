import { useState } from 'react';
import { errorMessage } from '../../common/api/client.ts';
import { Modal } from '../../common/components/ui.tsx';
import { webhookActions } from '../api/projects-api.ts';
import { draftOf, draftProblem, WEBHOOK_EVENT_CHOICES, webhookBody, type Webhook, type WebhookDraft } from '../utils/webhooks.ts';

/** Create (no `webhook`) or edit a webhook through MLflow's webhook API. */
export function WebhookForm({ webhook, onClose, onSaved }: { webhook?: Webhook | undefined; onClose: () => void; onSaved: (webhook: Webhook) => void }) {
  const [draft, setDraft] = useState<WebhookDraft>(() => draftOf(webhook));
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);
  const problem = draftProblem(draft);
  const set = (patch: Partial<WebhookDraft>) => setDraft({ ...draft, ...patch });
  return (
    <Modal title={webhook ? `Edit webhook “${webhook.name}”` : 'New webhook'} onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          setTouched(true);
          if (problem) return;
          setBusy(true);
          setError(undefined);
          const body = webhookBody(draft);
          (webhook ? webhookActions.update(webhook.webhook_id, body) : webhookActions.create(body))
            .then(onSaved)
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label className="field">
          Name
          <input value={draft.name} onChange={(e) => set({ name: e.target.value })} required autoFocus />
        </label>
        <label className="field">
          URL
          <input type="url" placeholder="https://ci.example.com/hooks/mlflow" value={draft.url} onChange={(e) => set({ url: e.target.value })} required />
        </label>
        <label className="field">
          Description (optional)
          <input value={draft.description} onChange={(e) => set({ description: e.target.value })} />
        </label>
        <fieldset className="field event-choices">
          <legend>Events</legend>
          {WEBHOOK_EVENT_CHOICES.map((choice) => (
            <label key={choice.key} className="check">
              <input
                type="checkbox"
                checked={draft.events.includes(choice.key)}
                onChange={(e) => set({ events: e.target.checked ? [...draft.events, choice.key] : draft.events.filter((k) => k !== choice.key) })}
              />
              {choice.label} <span className="muted small mono">{choice.key}</span>
            </label>
          ))}
        </fieldset>
        <label className="field">
          Signing secret {webhook ? '(leave empty to keep the current one)' : '(optional; receivers check X-MLflow-Signature with it)'}
          <input type="password" autoComplete="new-password" value={draft.secret} onChange={(e) => set({ secret: e.target.value })} />
        </label>
        <label className="check">
          <input type="checkbox" checked={draft.active} onChange={(e) => set({ active: e.target.checked })} /> Active (deliver events)
        </label>
        {touched && problem && <p className="error-text">{problem}</p>}
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : webhook ? 'Save' : 'Create webhook'}
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

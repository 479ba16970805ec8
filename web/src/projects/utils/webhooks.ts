/**
 * MLflow 3 webhook events (webhooks.proto; the server's list is src/domain/webhooks/webhook-events.ts,
 * VALID_ENTITY_ACTIONS). On the wire entity and action are enum names: `{"entity": "MODEL_VERSION",
 * "action": "CREATED"}`. Pure functions.
 */

export interface WebhookEvent {
  entity: string;
  action: string;
}

export interface Webhook {
  webhook_id: string;
  name: string;
  description?: string;
  url: string;
  events: WebhookEvent[];
  status: 'ACTIVE' | 'DISABLED' | string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED' | 'CANCELLED';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['PENDING', 'DELIVERED', 'FAILED', 'CANCELLED'];

export interface Delivery {
  delivery_id: string;
  webhook_id: string;
  event_id: number;
  entity: string;
  action: string;
  status: DeliveryStatus | string;
  attempts: number;
  creation_timestamp: number;
  last_attempt_timestamp?: number;
  next_attempt_timestamp?: number;
  completion_timestamp?: number;
  last_response_status?: number;
  last_response_body?: string;
  last_error?: string;
}

export interface WebhookTestResult {
  success: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}

/** The model registry events a webhook can subscribe to, in the order the form lists them. */
export const WEBHOOK_EVENT_CHOICES: ReadonlyArray<{ key: string; label: string }> = [
  { key: 'registered_model.created', label: 'Registered model created' },
  { key: 'model_version.created', label: 'Model version created' },
  { key: 'model_version_tag.set', label: 'Model version tag set' },
  { key: 'model_version_tag.deleted', label: 'Model version tag deleted' },
  { key: 'model_version_alias.created', label: 'Model version alias set' },
  { key: 'model_version_alias.deleted', label: 'Model version alias deleted' },
  { key: 'prompt.created', label: 'Prompt created' },
  { key: 'prompt_version.created', label: 'Prompt version created' },
  { key: 'prompt_tag.set', label: 'Prompt tag set' },
  { key: 'prompt_tag.deleted', label: 'Prompt tag deleted' },
  { key: 'prompt_version_tag.set', label: 'Prompt version tag set' },
  { key: 'prompt_version_tag.deleted', label: 'Prompt version tag deleted' },
  { key: 'prompt_alias.created', label: 'Prompt alias set' },
  { key: 'prompt_alias.deleted', label: 'Prompt alias deleted' },
];

/** `{entity: "MODEL_VERSION", action: "CREATED"}` → `model_version.created` (either spelling in). */
export function eventKey(event: WebhookEvent): string {
  return `${String(event.entity).toLowerCase()}.${String(event.action).toLowerCase()}`;
}

/** `model_version.created` → the wire form `{entity: "MODEL_VERSION", action: "CREATED"}`. */
export function eventFromKey(key: string): WebhookEvent {
  const dot = key.lastIndexOf('.');
  return { entity: key.slice(0, dot).toUpperCase(), action: key.slice(dot + 1).toUpperCase() };
}

/** A readable name of an event, falling back to its key for events this UI does not know. */
export function eventLabel(event: WebhookEvent | string): string {
  const key = typeof event === 'string' ? event : eventKey(event);
  return WEBHOOK_EVENT_CHOICES.find((c) => c.key === key)?.label ?? key;
}

export interface WebhookDraft {
  name: string;
  url: string;
  description: string;
  /** Event keys (`model_version.created`). */
  events: string[];
  active: boolean;
  /** Empty: keep the current secret (edit) or none (create). */
  secret: string;
}

export function draftOf(webhook: Webhook | undefined): WebhookDraft {
  return {
    name: webhook?.name ?? '',
    url: webhook?.url ?? '',
    description: webhook?.description ?? '',
    events: webhook ? webhook.events.map(eventKey) : ['model_version.created'],
    active: webhook ? webhook.status === 'ACTIVE' : true,
    secret: '',
  };
}

/** What is wrong with a draft before sending it, or undefined. The server checks again. */
export function draftProblem(draft: WebhookDraft): string | undefined {
  if (!draft.name.trim()) return 'Give the webhook a name.';
  if (!/^https?:\/\/[^\s/]+/i.test(draft.url.trim())) return 'The URL must start with http:// or https://.';
  if (draft.events.length === 0) return 'Choose at least one event.';
  return undefined;
}

/**
 * The request body for MLflow's create (POST /mlflow/webhooks) or update (PATCH .../{id}): an
 * empty secret is left out so an edit keeps the stored one.
 */
export function webhookBody(draft: WebhookDraft): Record<string, unknown> {
  return {
    name: draft.name.trim(),
    url: draft.url.trim(),
    description: draft.description.trim(),
    events: draft.events.map(eventFromKey),
    status: draft.active ? 'ACTIVE' : 'DISABLED',
    ...(draft.secret ? { secret: draft.secret } : {}),
  };
}

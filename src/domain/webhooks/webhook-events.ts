import { MlflowError } from '../errors.ts';

/**
 * MLflow 3's webhook event vocabulary (mlflow/entities/webhook.py in the 3.18 client).
 *
 * On the wire (webhooks.proto) entity, action and status are protobuf enums, so the client sends
 * and expects their names: `{"entity": "MODEL_VERSION", "action": "CREATED"}`. Delivered payloads
 * and Trove's own stores use the lower-case values the Python entities use (`model_version`,
 * `created`). Requests are accepted in either spelling and as enum numbers.
 */

export const WEBHOOK_ENTITIES = [
  'registered_model',
  'model_version',
  'model_version_tag',
  'model_version_alias',
  'prompt',
  'prompt_version',
  'prompt_tag',
  'prompt_version_tag',
  'prompt_alias',
  'budget_policy',
] as const;
export type WebhookEntity = (typeof WEBHOOK_ENTITIES)[number];

export const WEBHOOK_ACTIONS = ['created', 'updated', 'deleted', 'set', 'exceeded'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

export const WEBHOOK_STATUSES = ['ACTIVE', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export interface WebhookEventType {
  entity: WebhookEntity;
  action: WebhookAction;
}

/** The entity/action pairs MLflow accepts (VALID_ENTITY_ACTIONS). */
export const VALID_ENTITY_ACTIONS: Record<WebhookEntity, readonly WebhookAction[]> = {
  registered_model: ['created'],
  model_version: ['created'],
  model_version_tag: ['set', 'deleted'],
  model_version_alias: ['created', 'deleted'],
  prompt: ['created'],
  prompt_version: ['created'],
  prompt_tag: ['set', 'deleted'],
  prompt_version_tag: ['set', 'deleted'],
  prompt_alias: ['created', 'deleted'],
  budget_policy: ['exceeded'],
};

/** Proto enum numbers (webhooks.proto); 0 is the UNSPECIFIED value. */
const ENTITY_NUMBERS: Record<number, WebhookEntity> = Object.fromEntries(WEBHOOK_ENTITIES.map((e, i) => [i + 1, e]));
const ACTION_NUMBERS: Record<number, WebhookAction> = { 1: 'created', 2: 'updated', 3: 'deleted', 4: 'set', 5: 'exceeded' };
const STATUS_NUMBERS: Record<number, WebhookStatus> = { 1: 'ACTIVE', 2: 'DISABLED' };

function enumText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return undefined;
}

export function parseEntity(value: unknown): WebhookEntity {
  const text = enumText(value);
  const byNumber = text !== undefined && /^\d+$/.test(text) ? ENTITY_NUMBERS[Number(text)] : undefined;
  const byName = text === undefined ? undefined : WEBHOOK_ENTITIES.find((e) => e === text.toLowerCase());
  const entity = byNumber ?? byName;
  if (!entity) {
    throw MlflowError.invalidParameter(
      `Invalid webhook event entity ${JSON.stringify(value ?? null)}. Valid entities are: ${WEBHOOK_ENTITIES.map((e) => e.toUpperCase()).join(', ')}.`,
    );
  }
  return entity;
}

export function parseAction(value: unknown): WebhookAction {
  const text = enumText(value);
  const byNumber = text !== undefined && /^\d+$/.test(text) ? ACTION_NUMBERS[Number(text)] : undefined;
  const byName = text === undefined ? undefined : WEBHOOK_ACTIONS.find((a) => a === text.toLowerCase());
  const action = byNumber ?? byName;
  if (!action) {
    throw MlflowError.invalidParameter(
      `Invalid webhook event action ${JSON.stringify(value ?? null)}. Valid actions are: ${WEBHOOK_ACTIONS.map((a) => a.toUpperCase()).join(', ')}.`,
    );
  }
  return action;
}

export function parseStatus(value: unknown): WebhookStatus {
  const text = enumText(value);
  const byNumber = text !== undefined && /^\d+$/.test(text) ? STATUS_NUMBERS[Number(text)] : undefined;
  const byName = text === undefined ? undefined : WEBHOOK_STATUSES.find((s) => s === text.toUpperCase());
  const status = byNumber ?? byName;
  if (!status) {
    throw MlflowError.invalidParameter(
      `Invalid webhook status ${JSON.stringify(value ?? null)}. Valid statuses are: ${WEBHOOK_STATUSES.join(', ')}.`,
    );
  }
  return status;
}

/** One `{entity, action}` of a request, validated as a pair MLflow accepts. */
export function parseEvent(value: unknown): WebhookEventType {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw MlflowError.invalidParameter(`Invalid webhook event ${JSON.stringify(value ?? null)}: expected an object with 'entity' and 'action'.`);
  }
  const raw = value as { entity?: unknown; action?: unknown };
  const entity = parseEntity(raw.entity);
  const action = parseAction(raw.action);
  const valid = VALID_ENTITY_ACTIONS[entity];
  if (!valid.includes(action)) {
    // MLflow's wording (WebhookEvent.__init__), with Python's list repr of the sorted actions.
    const listed = [...valid].sort().map((a) => `'${a}'`).join(', ');
    throw MlflowError.invalidParameter(`Invalid action '${action}' for entity '${entity}'. Valid actions are: [${listed}]`);
  }
  return { entity, action };
}

export function eventName(event: { entity: string; action: string }): string {
  return `${event.entity}.${event.action}`;
}

/**
 * The example payloads MLflow's test endpoint sends (mlflow/webhooks/types.py `example()`), so a
 * receiver sees the same data from Trove and from upstream.
 */
export function examplePayload(event: WebhookEventType): Record<string, unknown> {
  switch (`${event.entity}.${event.action}`) {
    case 'registered_model.created':
      return { name: 'example_model', tags: { example_key: 'example_value' }, description: 'An example registered model' };
    case 'model_version.created':
      return {
        name: 'example_model',
        version: '1',
        source: 'models:/123',
        run_id: 'abcd1234abcd5678',
        tags: { example_key: 'example_value' },
        description: 'An example model version',
      };
    case 'model_version_tag.set':
      return { name: 'example_model', version: '1', key: 'example_key', value: 'example_value' };
    case 'model_version_tag.deleted':
      return { name: 'example_model', version: '1', key: 'example_key' };
    case 'model_version_alias.created':
      return { name: 'example_model', alias: 'example_alias', version: '1' };
    case 'model_version_alias.deleted':
      return { name: 'example_model', alias: 'example_alias' };
    case 'prompt.created':
      return { name: 'example_prompt', tags: { example_key: 'example_value' }, description: 'An example prompt' };
    case 'prompt_version.created':
      return {
        name: 'example_prompt',
        version: '1',
        template: 'Hello {{name}}!',
        tags: { example_key: 'example_value' },
        description: 'An example prompt version',
      };
    case 'prompt_tag.set':
      return { name: 'example_prompt', key: 'example_key', value: 'example_value' };
    case 'prompt_tag.deleted':
      return { name: 'example_prompt', key: 'example_key' };
    case 'prompt_version_tag.set':
      return { name: 'example_prompt', version: '1', key: 'example_key', value: 'example_value' };
    case 'prompt_version_tag.deleted':
      return { name: 'example_prompt', version: '1', key: 'example_key' };
    case 'prompt_alias.created':
      return { name: 'example_prompt', alias: 'example_alias', version: '1' };
    case 'prompt_alias.deleted':
      return { name: 'example_prompt', alias: 'example_alias' };
    case 'budget_policy.exceeded':
      return {
        budget_policy_id: 'bp-abc123',
        budget_unit: 'USD',
        budget_amount: 100.0,
        current_spend: 105.5,
        duration_unit: 'MONTHS',
        duration_value: 1,
        target_scope: 'ENDPOINT',
        workspace: 'default',
        target_value: 'ep-abc123',
        window_start: 1704067200000,
      };
    default:
      return {};
  }
}

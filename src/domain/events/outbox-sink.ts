import type { RegistryEvent, RegistryEventSink } from '../registry/registry-events.ts';
import type { EventsStore, NewRegistryEventRow } from '../../store/events-store.ts';
import type { EventBus } from './event-bus.ts';
import { currentProjectId } from '../request-context.ts';

/** Registry tags MLflow strips from prompt webhook payloads (mlflow/prompt/constants.py). */
const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';
const PROMPT_TYPE_TAG = '_mlflow_prompt_type';
const PROMPT_TEXT_TAG = 'mlflow.prompt.text';

export interface OutboxEvent {
  entity: string;
  action: string;
  name: string;
  data: Record<string, unknown>;
  timestamp: number;
}

/**
 * The event MLflow's server would deliver for a registry event (server/handlers.py): changes to a
 * prompt (a registered model tagged as one, `data.is_prompt`) become `prompt*` events with the
 * prompt payloads; a prompt's tag change, which RegistryService reports as a
 * `registered_model.updated`, becomes `prompt_tag.set` / `prompt_tag.deleted`. Everything else is
 * kept as it is, including Trove's extra events that no MLflow webhook can subscribe to
 * (they still reach the SSE stream).
 */
export function toOutboxEvent(event: RegistryEvent): OutboxEvent {
  const { is_prompt: isPrompt, ...data } = event.data;
  const base = { name: event.name, timestamp: event.timestamp };
  if (isPrompt !== true) return { ...base, entity: event.entity, action: event.action, data: event.data };

  const tags = isRecord(data.tags) ? data.tags : undefined;
  switch (`${event.entity}.${event.action}`) {
    case 'registered_model.created':
      return { ...base, entity: 'prompt', action: 'created', data: { ...data, ...(tags ? { tags: omit(tags, [IS_PROMPT_TAG, PROMPT_TYPE_TAG]) } : {}) } };
    case 'model_version.created': {
      const template = tags?.[PROMPT_TEXT_TAG];
      return {
        ...base,
        entity: 'prompt_version',
        action: 'created',
        data: {
          name: data.name,
          version: data.version,
          template: typeof template === 'string' ? template : null,
          tags: tags ? omit(tags, [IS_PROMPT_TAG, PROMPT_TYPE_TAG, PROMPT_TEXT_TAG]) : {},
          description: data.description ?? null,
        },
      };
    }
    case 'model_version_tag.set':
    case 'model_version_tag.deleted':
      return { ...base, entity: 'prompt_version_tag', action: event.action, data };
    case 'model_version_alias.created':
    case 'model_version_alias.deleted':
      return { ...base, entity: 'prompt_alias', action: event.action, data };
    case 'registered_model.updated': {
      const tag = data.tag;
      if (isRecord(tag) && typeof tag.key === 'string') {
        return { ...base, entity: 'prompt_tag', action: 'set', data: { name: data.name, key: tag.key, value: tag.value } };
      }
      if (typeof data.deleted_tag === 'string') {
        return { ...base, entity: 'prompt_tag', action: 'deleted', data: { name: data.name, key: data.deleted_tag } };
      }
      return { ...base, entity: event.entity, action: event.action, data: event.data };
    }
    default:
      return { ...base, entity: event.entity, action: event.action, data: event.data };
  }
}

export interface OutboxSinkOptions {
  /** A fixed project; by default the project of the request making the change. */
  projectId?: number;
  /** Told once when RegistryService hands over a transaction the store cannot join. */
  warn?: (message: string) => void;
}

/**
 * The durable side of registry events: RegistryService's sink. Each change's events are inserted
 * into the outbox table through the change's own transaction (RegistryService passes its
 * transaction's store), so an event exists exactly when its change committed; the webhook
 * dispatcher and the SSE streams read them from there, in this process or any other.
 */
export class OutboxEventSink implements RegistryEventSink {
  private readonly projectId: number | undefined;
  private pending: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    private readonly store: EventsStore,
    private readonly bus: EventBus,
    private readonly options: OutboxSinkOptions = {},
  ) {
    this.projectId = options.projectId;
  }

  async publish(events: RegistryEvent[], transaction?: unknown): Promise<void> {
    if (events.length === 0) return;
    const projectId = this.projectId ?? currentProjectId();
    const rows: NewRegistryEventRow[] = events.map((event) => {
      const mapped = toOutboxEvent(event);
      return {
        projectId,
        entity: mapped.entity,
        action: mapped.action,
        modelName: mapped.name,
        data: mapped.data,
        timestamp: mapped.timestamp,
      };
    });

    if (transaction === undefined) {
      // Called after the change committed: append on our own.
      await this.store.appendEvents(rows);
      this.bus.notify();
      return;
    }
    const joined = this.store.joinTransaction(transaction);
    if (joined) {
      await joined.appendEvents(rows);
      this.bus.notifySoon();
      return;
    }
    // A transaction we cannot write through. Appending on our own connection now would wait for
    // that very transaction (SQLite has one connection) and never return; queue the append
    // instead: it runs once the caller's transaction has ended, i.e. right after the commit.
    if (!this.warned) {
      this.warned = true;
      this.options.warn?.('Registry events are appended right after the commit: the event sink could not join the registry transaction.');
    }
    this.pending = this.pending
      .then(() => this.store.appendEvents(rows))
      .then(() => this.bus.notify())
      .catch((error: unknown) => this.options.warn?.(`Appending registry events failed: ${String(error)}`));
  }

  /** Waits for appends queued after a commit. */
  async flush(): Promise<void> {
    await this.pending;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function omit(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

/** One sink that publishes to several in turn (the outbox first); the first failure aborts. */
export function composeSinks(...sinks: Array<RegistryEventSink | undefined>): RegistryEventSink {
  const present = sinks.filter((sink): sink is RegistryEventSink => sink !== undefined);
  return {
    async publish(events: RegistryEvent[], transaction?: unknown): Promise<void> {
      for (const sink of present) await sink.publish(events, transaction);
    },
  };
}

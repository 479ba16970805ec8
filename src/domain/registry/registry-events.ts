/**
 * Registry events: what changed in the model registry, in the shape MLflow 3's webhooks deliver
 * (`{entity, action, timestamp, data}`, mlflow-rest-api.md §4.5). RegistryService emits them;
 * sinks (a durable webhook outbox, a server-sent-events stream) consume them.
 *
 * The webhook events MLflow defines, with their `data`:
 * - `registered_model.created` `{name, tags: {k: v}, description}`
 * - `model_version.created` `{name, version, source, run_id, tags: {k: v}, description}`
 * - `model_version_tag.set` `{name, version, key, value}` / `.deleted` `{name, version, key}`
 * - `model_version_alias.created` `{name, alias, version}` / `.deleted` `{name, alias}`
 *   (`created` is also sent when an existing alias moves to another version, as upstream does)
 *
 * Trove additionally emits, for subscribers that want the whole picture (MLflow has no webhook
 * event for these; a webhook sink should skip them unless subscribed explicitly):
 * - `registered_model.updated` `{name, previous_name}` on rename, `{name, description}` on a
 *   description change, `{name, tag: {key, value}}` / `{name, deleted_tag: key}` on tag changes
 * - `registered_model.deleted` `{name}`
 * - `model_version.updated` `{name, version, current_stage, previous_stage}` on a stage
 *   transition (one per archived version too), `{name, version, description}` on an edit
 * - `model_version.deleted` `{name, version}`, preceded by `model_version_alias.deleted` for
 *   each alias the deletion removed
 *
 * Prompts (models tagged `mlflow.prompt.is_prompt = true`) produce the same events with
 * `data.is_prompt = true`; MLflow maps those to its `prompt*` webhook entities.
 */

export type RegistryEntity = 'registered_model' | 'model_version' | 'model_version_tag' | 'model_version_alias';
export type RegistryAction = 'created' | 'set' | 'deleted' | 'updated';

export interface RegistryEvent {
  entity: RegistryEntity;
  action: RegistryAction;
  /** The registered model's name (the new name for a rename). */
  name: string;
  data: Record<string, unknown>;
  /** When the change happened, ms since the epoch. */
  timestamp: number;
}

export interface RegistryEventSink {
  /**
   * Receives the events of one change. RegistryService calls it inside the transaction that
   * makes the change, after all of the change's writes and right before the commit, passing
   * that transaction's RegistryStore as `store`: a durable outbox can insert its rows through it
   * so events commit (or roll back) together with the change. A sink that throws aborts the
   * change. A sink that notifies in memory (SSE) should treat the events as committed once this
   * promise's transaction returns — the service only answers the client after the commit.
   */
  publish(events: RegistryEvent[], store?: unknown): Promise<void>;
}

/** The default sink: drops every event. */
export const NO_REGISTRY_EVENTS: RegistryEventSink = {
  async publish(): Promise<void> {},
};

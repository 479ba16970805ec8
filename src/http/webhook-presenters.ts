import type { DeliveryRecord, RegistryEventRecord, WebhookRecord } from '../store/events-store.ts';
import type { WebhookTestResult } from '../domain/webhooks/webhook-service.ts';

/**
 * Webhook, delivery and registry-event wire shapes (kept beside presenters.ts so the registry's
 * presenters and these grow independently). Same conventions: snake_case, int64 as numbers,
 * enums by name, unset fields omitted.
 */

/** webhooks.proto `Webhook`: entity, action and status are protobuf enums, sent by name. */
export function presentWebhook(webhook: WebhookRecord): object {
  return {
    webhook_id: webhook.webhookId,
    name: webhook.name,
    ...(webhook.description ? { description: webhook.description } : {}),
    url: webhook.url,
    events: webhook.events.map((e) => ({ entity: e.entity.toUpperCase(), action: e.action.toUpperCase() })),
    status: webhook.status,
    creation_timestamp: webhook.creationTimestamp,
    last_updated_timestamp: webhook.lastUpdatedTimestamp,
  };
}

export function presentWebhookTestResult(result: WebhookTestResult): object {
  return {
    success: result.success,
    ...(result.responseStatus !== null ? { response_status: result.responseStatus } : {}),
    ...(result.responseBody ? { response_body: result.responseBody } : {}),
    ...(result.errorMessage ? { error_message: result.errorMessage } : {}),
  };
}

/** Trove's delivery log entry (docs/api-trove.md). */
export function presentDelivery(delivery: DeliveryRecord): object {
  return {
    delivery_id: delivery.deliveryId,
    webhook_id: delivery.webhookId,
    event_id: delivery.eventId,
    entity: delivery.entity,
    action: delivery.action,
    status: delivery.status.toUpperCase(),
    attempts: delivery.attempts,
    creation_timestamp: delivery.createdAt,
    ...(delivery.lastAttemptAt !== null ? { last_attempt_timestamp: delivery.lastAttemptAt } : {}),
    ...(delivery.nextAttemptAt !== null ? { next_attempt_timestamp: delivery.nextAttemptAt } : {}),
    ...(delivery.completedAt !== null ? { completion_timestamp: delivery.completedAt } : {}),
    ...(delivery.lastResponseStatus !== null ? { last_response_status: delivery.lastResponseStatus } : {}),
    ...(delivery.lastResponseBody ? { last_response_body: delivery.lastResponseBody } : {}),
    ...(delivery.lastError ? { last_error: delivery.lastError } : {}),
  };
}

/** One registry event of the SSE stream (the `data:` line). */
export function presentRegistryEvent(event: RegistryEventRecord): object {
  return {
    id: event.id,
    entity: event.entity,
    action: event.action,
    name: event.modelName,
    timestamp: event.timestamp,
    data: event.data,
  };
}

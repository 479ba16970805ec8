import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WebhookService } from '../domain/webhooks/webhook-service.ts';
import { presentDelivery, presentWebhook, presentWebhookTestResult } from './webhook-presenters.ts';
import { int64, parseFields, text } from './request-schema.ts';
import { rpc } from './rpc.ts';

const enumValue = z.union([z.string(), z.number()]);
const createSchema = z.object({
  name: text,
  url: text,
  events: z.array(z.unknown()),
  description: text.optional(),
  secret: text.optional(),
  status: enumValue.optional(),
});
const listSchema = z.object({ max_results: int64.optional(), page_token: text.optional() });
const idSchema = z.object({ webhook_id: text });
const updateSchema = z.object({
  webhook_id: text,
  name: text.optional(),
  url: text.optional(),
  events: z.array(z.unknown()).optional(),
  description: text.optional(),
  secret: text.optional(),
  status: enumValue.optional(),
});
const testSchema = z.object({ webhook_id: text, event: z.unknown().optional() });
const deliveriesSchema = z.object({
  webhook_id: text,
  max_results: int64.optional(),
  page_token: text.optional(),
  status: text.optional(),
});

/** MLflow 3's webhook RPCs (webhooks.proto), relative to /api/2.0 or /ajax-api/2.0. */
export async function webhookRoutes(app: FastifyInstance, webhooks: WebhookService): Promise<void> {
  rpc(app, 'POST', '/mlflow/webhooks', 'webhooks', async (fields) => {
    const input = parseFields(createSchema, fields);
    const webhook = await webhooks.create(input);
    return { webhook: presentWebhook(webhook) };
  });

  rpc(app, 'GET', '/mlflow/webhooks', 'webhooks:read', async (fields) => {
    const input = parseFields(listSchema, fields);
    const page = await webhooks.list({ maxResults: input.max_results, pageToken: input.page_token });
    return {
      ...(page.items.length > 0 ? { webhooks: page.items.map(presentWebhook) } : {}),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'GET', '/mlflow/webhooks/:webhook_id', 'webhooks:read', async (fields) => {
    const { webhook_id } = parseFields(idSchema, fields);
    return { webhook: presentWebhook(await webhooks.get(webhook_id)) };
  });

  rpc(app, 'PATCH', '/mlflow/webhooks/:webhook_id', 'webhooks', async (fields) => {
    const input = parseFields(updateSchema, fields);
    const webhook = await webhooks.update(input.webhook_id, {
      name: input.name,
      url: input.url,
      events: input.events,
      description: input.description,
      secret: input.secret,
      status: input.status,
    });
    return { webhook: presentWebhook(webhook) };
  });

  rpc(app, 'DELETE', '/mlflow/webhooks/:webhook_id', 'webhooks', async (fields) => {
    const { webhook_id } = parseFields(idSchema, fields);
    await webhooks.delete(webhook_id);
    return {};
  });

  rpc(app, 'POST', '/mlflow/webhooks/:webhook_id/test', 'webhooks', async (fields) => {
    const input = parseFields(testSchema, fields);
    const result = await webhooks.test(input.webhook_id, input.event);
    return { result: presentWebhookTestResult(result) };
  });
}

/**
 * Trove's webhook delivery log, relative to /api/2.0/trove or /ajax-api/2.0/trove. Documented in
 * docs/api-trove.md.
 */
export async function webhookDeliveryRoutes(app: FastifyInstance, webhooks: WebhookService): Promise<void> {
  rpc(app, 'GET', '/webhooks/:webhook_id/deliveries', 'webhooks:read', async (fields) => {
    const input = parseFields(deliveriesSchema, fields);
    const page = await webhooks.listDeliveries(input.webhook_id, {
      maxResults: input.max_results,
      pageToken: input.page_token,
      status: input.status,
    });
    return {
      deliveries: page.items.map(presentDelivery),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });
}

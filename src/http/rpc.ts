import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import type { Permission } from '../domain/auth/permissions.ts';
import { jsonSourceOf, rememberJsonSource, requestFields } from './request-schema.ts';

/**
 * An answer already serialised: JSON text sent as it is, with the content type of Fastify's own
 * JSON answers. For answers whose bulk the store builds as text (runs/search on PostgreSQL).
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A handler of an MLflow RPC: request fields in (query for GET, JSON body otherwise), a JSON object (or JsonText) out. */
export type RpcHandler = (fields: Record<string, unknown>, request: FastifyRequest) => Promise<object> | object;

/**
 * Registers an MLflow RPC route needing `permission` (src/domain/auth/permissions.ts; checked
 * before the handler runs). Path parameters (`:model_id`) are merged into the fields.
 */
export function rpc(app: FastifyInstance, method: HTTPMethods | HTTPMethods[], url: string, permission: Permission, handler: RpcHandler): void {
  app.route({
    method,
    url,
    config: { permission },
    handler: async (request, reply) => {
      const fields = { ...requestFields(request.method, request.query, request.body) };
      rememberJsonSource(fields, jsonSourceOf(request.body));
      const params = request.params;
      if (params && typeof params === 'object') Object.assign(fields, params);
      const answer = await handler(fields, request);
      if (!(answer instanceof JsonText)) return answer;
      void reply.type('application/json; charset=utf-8');
      return answer.text;
    },
  });
}

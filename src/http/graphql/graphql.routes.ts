import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MlflowError } from '../../domain/errors.ts';
import type { Services } from '../../domain/services.ts';
import { graphqlLimitsFromEnv, type GraphqlLimits } from './limits.ts';
import type { GraphqlBody, GraphqlExecutor } from './graphql-executor.ts';
import { GRAPHQL_ROUTE_PERMISSION } from './field-permissions.ts';

/**
 * MLflow's GraphQL endpoint, `GET|POST /graphql` (the MLflow web UI posts to `graphql` relative to
 * the page, so `/projects/<name>/graphql` works too), plus `/ajax-api/graphql`.
 *
 * Mercurius builds and executes the schema (graphql-executor.ts, loaded by the first GraphQL
 * request so an idle server never holds it); this route owns the HTTP side so it behaves as
 * MLflow's does: the answer is always 200 with `{"data": ..., "errors": [message, ...] | null}`
 * (errors are plain strings, as upstream sends them), the cost limits (limits.ts) are checked
 * before validation, and the request's auth context (project, role) is the one the auth hook set.
 * GraphiQL and mercurius's own routes are off: nothing else is served.
 */

/**
 * A query within the limits has at most a few tens of thousands of tokens (1000 selections with
 * aliases and arguments); the MLflow UI's largest is about 200. Bodies are capped to match.
 */
export const MAX_QUERY_TOKENS = 50_000;
export const GRAPHQL_BODY_LIMIT = 1024 * 1024;

export interface GraphqlRouteOptions {
  /** Defaults to MLflow's settings read from the environment. */
  limits?: GraphqlLimits;
}

export async function graphqlRoutes(app: FastifyInstance, services: Services, options: GraphqlRouteOptions = {}): Promise<void> {
  // Read now: a server with a malformed limit setting does not start.
  const limits = options.limits ?? graphqlLimitsFromEnv(process.env);
  // Built by the first GraphQL request (graphql-executor.ts loads mercurius and graphql).
  let executor: Promise<GraphqlExecutor> | undefined;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = graphqlBodyOf(request);
    executor ??= import('./graphql-executor.ts').then(({ createGraphqlExecutor }) => createGraphqlExecutor(services, MAX_QUERY_TOKENS, limits));
    const execute = await executor.catch((error: unknown) => {
      executor = undefined;
      throw error;
    });
    return reply.send(await execute(body, request));
  };
  await app.register(async (scope) => {
    for (const url of ['/graphql', '/ajax-api/graphql']) {
      scope.route({ method: ['GET', 'POST'], url, bodyLimit: GRAPHQL_BODY_LIMIT, config: { permission: GRAPHQL_ROUTE_PERMISSION }, handler });
    }
  });
}

/** The GraphQL request: a JSON body for POST, query parameters for GET (`variables` as JSON text). */
function graphqlBodyOf(request: FastifyRequest): GraphqlBody {
  const source = request.method === 'GET' ? request.query : request.body;
  if (Array.isArray(source)) throw MlflowError.invalidParameter('Batched GraphQL requests are not supported: send one query per request.');
  if (source === null || typeof source !== 'object') throw MlflowError.invalidParameter('A GraphQL request must be a JSON object with a "query" field.');
  const fields = source as Record<string, unknown>;
  if (typeof fields.query !== 'string' || fields.query.trim() === '') {
    throw MlflowError.invalidParameter('A GraphQL request must have a "query" field holding the query text.');
  }
  let variables = fields.variables;
  if (typeof variables === 'string' && request.method === 'GET') {
    try {
      variables = JSON.parse(variables);
    } catch {
      throw MlflowError.invalidParameter('The "variables" parameter must be a JSON object.');
    }
  }
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    throw MlflowError.invalidParameter('The "variables" field must be a JSON object.');
  }
  const operationName = fields.operationName;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    throw MlflowError.invalidParameter('The "operationName" field must be a string.');
  }
  return {
    query: fields.query,
    ...(variables ? { variables: variables as Record<string, unknown> } : {}),
    ...(typeof operationName === 'string' ? { operationName } : {}),
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import { GraphQLError } from 'graphql';
import { MlflowError } from '../../domain/errors.ts';
import type { Services } from '../../domain/services.ts';
import { GRAPHQL_SCHEMA } from './schema.ts';
import { buildResolvers, newRequestContext } from './resolvers.ts';
import { checkQueryLimits, graphqlLimitsFromEnv, QueryLimitError, type GraphqlLimits } from './limits.ts';
import { GRAPHQL_ROUTE_PERMISSION } from './field-permissions.ts';

/**
 * MLflow's GraphQL endpoint, `GET|POST /graphql` (the MLflow web UI posts to `graphql` relative to
 * the page, so `/projects/<name>/graphql` works too), plus `/ajax-api/graphql`.
 *
 * Mercurius builds and executes the schema; this route owns the HTTP side so it behaves as
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

interface GraphqlBody {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface GraphqlRouteOptions {
  /** Defaults to MLflow's settings read from the environment. */
  limits?: GraphqlLimits;
}

export async function graphqlRoutes(app: FastifyInstance, services: Services, options: GraphqlRouteOptions = {}): Promise<void> {
  const limits = options.limits ?? graphqlLimitsFromEnv(process.env);
  await app.register(async (scope) => {
    await scope.register(mercurius, {
      schema: GRAPHQL_SCHEMA,
      resolvers: buildResolvers(services),
      routes: false,
      graphiql: false,
      // The parser stops early on a flood of tokens, before any limit above could be counted.
      graphql: { parseOptions: { maxTokens: MAX_QUERY_TOKENS } },
      // Keep resolver errors as they are; the route turns them into upstream's string list.
      errorFormatter: (execution) => ({ statusCode: 200, response: { data: execution.data ?? null, errors: execution.errors } }),
    });
    // Runs on every document mercurius has not seen (parsed but not yet validated); documents it
    // caches have passed.
    scope.graphql.addHook('preValidation', async (_schema, document) => {
      checkQueryLimits(document, limits);
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const body = graphqlBodyOf(request);
      try {
        const result = await scope.graphql(body.query, newRequestContext(services) as never, body.variables, body.operationName);
        const errors = result.errors?.length ? result.errors.map((error) => clientMessage(error, request)) : null;
        return reply.send({ data: result.data ?? null, errors });
      } catch (error) {
        if (error instanceof QueryLimitError) return reply.send({ data: null, errors: [error.message] });
        // Syntax, validation and variable errors: mercurius throws them together.
        const listed = (error as { errors?: unknown }).errors;
        if (Array.isArray(listed) && listed.length > 0) {
          return reply.send({ data: null, errors: listed.map((e) => clientMessage(e, request)) });
        }
        throw error;
      }
    };
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

/**
 * What the client is told about one error: the message of an MLflow error or a GraphQL error
 * (syntax, validation, coercion); an unexpected failure is logged and reported without detail.
 */
function clientMessage(error: unknown, request: FastifyRequest): string {
  if (!(error instanceof Error)) return String(error);
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (original === undefined || original === null || original instanceof MlflowError || original instanceof GraphQLError) {
    return error.message;
  }
  request.log.error({ err: original }, 'GraphQL resolver failed');
  const path = error instanceof GraphQLError && error.path ? ` at ${error.path.join('.')}` : '';
  return `Internal error${path}; see the server log.`;
}

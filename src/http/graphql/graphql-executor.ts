import Fastify, { type FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import { GraphQLError } from 'graphql';
import { MlflowError } from '../../domain/errors.ts';
import type { Services } from '../../domain/services.ts';
import { GRAPHQL_SCHEMA } from './schema.ts';
import { buildResolvers, newRequestContext } from './resolvers.ts';
import { checkQueryLimits, QueryLimitError, type GraphqlLimits } from './limits.ts';

/** A GraphQL request as graphql.routes.ts read it from the body or the query string. */
export interface GraphqlBody {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** What `/graphql` answers: always `{"data": ..., "errors": [message, ...] | null}`, as MLflow. */
export interface GraphqlAnswer {
  data: unknown;
  errors: string[] | null;
}

export type GraphqlExecutor = (body: GraphqlBody, request: FastifyRequest) => Promise<GraphqlAnswer>;

/**
 * Mercurius with the MLflow schema and Trove's resolvers, on a Fastify instance of its own that
 * never listens: only its executor is used. This module (mercurius and graphql, about 30 MiB of
 * memory) is loaded by the first GraphQL request, not at startup (docs/memory.md).
 */
export async function createGraphqlExecutor(services: Services, maxTokens: number, limits: GraphqlLimits): Promise<GraphqlExecutor> {
  const host = Fastify({ logger: false });
  await host.register(mercurius, {
    schema: GRAPHQL_SCHEMA,
    resolvers: buildResolvers(services),
    routes: false,
    graphiql: false,
    // The parser stops early on a flood of tokens, before any limit above could be counted.
    graphql: { parseOptions: { maxTokens } },
    // Keep resolver errors as they are; the route turns them into upstream's string list.
    errorFormatter: (execution) => ({ statusCode: 200, response: { data: execution.data ?? null, errors: execution.errors } }),
  });
  // Runs on every document mercurius has not seen (parsed but not yet validated); documents it
  // caches have passed.
  host.graphql.addHook('preValidation', async (_schema, document) => {
    checkQueryLimits(document, limits);
  });
  await host.ready();

  return async (body, request) => {
    try {
      const result = await host.graphql(body.query, newRequestContext(services) as never, body.variables, body.operationName);
      const errors = result.errors?.length ? result.errors.map((error) => clientMessage(error, request)) : null;
      return { data: result.data ?? null, errors };
    } catch (error) {
      if (error instanceof QueryLimitError) return { data: null, errors: [error.message] };
      // Syntax, validation and variable errors: mercurius throws them together.
      const listed = (error as { errors?: unknown }).errors;
      if (Array.isArray(listed) && listed.length > 0) return { data: null, errors: listed.map((e) => clientMessage(e, request)) };
      throw error;
    }
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

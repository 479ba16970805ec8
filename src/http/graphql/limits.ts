import type { DocumentNode, FragmentDefinitionNode, Kind as GraphqlKind, SelectionSetNode } from 'graphql';

/**
 * The values of graphql's `Kind` this file compares with, spelled out so that importing the
 * limits (graphql.routes.ts reads them from the environment at startup) does not load graphql,
 * which the first GraphQL request loads (graphql-executor.ts).
 */
const Kind = {
  FIELD: 'Field' as unknown as GraphqlKind.FIELD,
  INLINE_FRAGMENT: 'InlineFragment' as unknown as GraphqlKind.INLINE_FRAGMENT,
  FRAGMENT_DEFINITION: 'FragmentDefinition' as unknown as GraphqlKind.FRAGMENT_DEFINITION,
  OPERATION_DEFINITION: 'OperationDefinition' as unknown as GraphqlKind.OPERATION_DEFINITION,
} as const;

/**
 * Cost limits checked on every GraphQL document before it is validated or executed, so one POST
 * cannot ask for an unbounded amount of work. MLflow's server has the same four limits, with the
 * same settings and messages:
 *
 * - at most `MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS` (10) root fields (each is a separate backend
 *   call, e.g. ten `mlflowSearchRuns` under aliases);
 * - at most `MLFLOW_SERVER_GRAPHQL_MAX_ALIASES` (10) aliased fields in any one selection set;
 * - selection sets nested at most 10 deep;
 * - at most 1000 field selections in total.
 *
 * Unlike upstream's scan, fragments are followed (a spread is counted where it is used, once per
 * use), so they cannot hide depth or width; a fragment cycle is not followed twice (validation
 * rejects it afterwards).
 */

export interface GraphqlLimits {
  maxRootFields: number;
  maxAliases: number;
  maxDepth: number;
  maxSelections: number;
}

export const MAX_ROOT_FIELDS_ENV = 'MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS';
export const MAX_ALIASES_ENV = 'MLFLOW_SERVER_GRAPHQL_MAX_ALIASES';

export const DEFAULT_GRAPHQL_LIMITS: Readonly<GraphqlLimits> = Object.freeze({
  maxRootFields: 10,
  maxAliases: 10,
  maxDepth: 10,
  maxSelections: 1000,
});

/**
 * The limits in force, from MLflow's environment variables (unset or blank: the default).
 *
 * @throws Error naming the variable when it is set to something other than a non-negative integer
 *   (a misconfigured server should not start)
 */
export function graphqlLimitsFromEnv(env: NodeJS.ProcessEnv): GraphqlLimits {
  return {
    ...DEFAULT_GRAPHQL_LIMITS,
    maxRootFields: integerSetting(env, MAX_ROOT_FIELDS_ENV, DEFAULT_GRAPHQL_LIMITS.maxRootFields),
    maxAliases: integerSetting(env, MAX_ALIASES_ENV, DEFAULT_GRAPHQL_LIMITS.maxAliases),
  };
}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got '${raw}'.`);
  return Number(raw);
}

/** Thrown (before validation) for a document over a limit; the message is what the client sees. */
export class QueryLimitError extends Error {
  override readonly name = 'QueryLimitError';
}

/**
 * Checks a parsed document against the limits.
 *
 * @throws QueryLimitError for the first limit the document exceeds (depth and total selections
 *   stop the scan as soon as they are exceeded; root fields and aliases are judged after it)
 */
export function checkQueryLimits(document: DocumentNode, limits: GraphqlLimits): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const state = { rootFields: 0, maxAliases: 0, selections: 0 };

  /** Visits one selection set (depth 1 is an operation's own) and every set nested in it. */
  const visit = (set: SelectionSetNode, depth: number, expanding: Set<string>): void => {
    if (depth > limits.maxDepth) throw new QueryLimitError(`Query exceeds maximum depth of ${limits.maxDepth}`);
    let aliases = 0;
    // Fields reached through inline fragments and spreads belong to this same level.
    const walkLevel = (current: SelectionSetNode, seen: Set<string>): void => {
      for (const selection of current.selections) {
        if (selection.kind === Kind.FIELD) {
          state.selections += 1;
          if (state.selections > limits.maxSelections) {
            throw new QueryLimitError(`Query exceeds maximum total selections of ${limits.maxSelections}`);
          }
          if (depth === 1) state.rootFields += 1;
          if (selection.alias) aliases += 1;
          if (selection.selectionSet) visit(selection.selectionSet, depth + 1, seen);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          walkLevel(selection.selectionSet, seen);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) continue;
          const inner = new Set(seen).add(name);
          walkLevel(fragment.selectionSet, inner);
        }
      }
    };
    walkLevel(set, expanding);
    state.maxAliases = Math.max(state.maxAliases, aliases);
  };

  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) visit(definition.selectionSet, 1, new Set());
  }

  if (state.rootFields > limits.maxRootFields) {
    throw new QueryLimitError(
      `GraphQL queries should have at most ${limits.maxRootFields} root fields, got ${state.rootFields} root fields. ` +
        `To increase the limit, set the ${MAX_ROOT_FIELDS_ENV} environment variable.`,
    );
  }
  if (state.maxAliases > limits.maxAliases) {
    throw new QueryLimitError(
      `GraphQL queries should have at most ${limits.maxAliases} aliases, got ${state.maxAliases} aliases. ` +
        `To increase the limit, set the ${MAX_ALIASES_ENV} environment variable.`,
    );
  }
}

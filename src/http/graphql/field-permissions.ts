import type { Permission } from '../../domain/auth/permissions.ts';

/**
 * What each GraphQL field that reads data needs, checked by its resolver against the request's
 * role in its project (one POST can read several things, so the route's own permission is only
 * the floor). Reading through GraphQL needs what the REST route of the same data needs.
 * Every root field must be listed: the schema test fails for one that is not.
 */
export const GRAPHQL_FIELD_PERMISSIONS: Readonly<Record<string, Permission>> = Object.freeze({
  'Query.mlflowGetExperiment': 'read',
  'Query.mlflowGetMetricHistoryBulkInterval': 'read',
  'Query.mlflowGetRun': 'read',
  'Query.mlflowListArtifacts': 'read',
  'Query.mlflowSearchModelVersions': 'read',
  'Query.mlflowSearchRuns': 'read',
  // The echo fields read nothing; any caller that got past the route's gate may use them.
  'Query.test': 'read',
  'Mutation.mlflowSearchDatasets': 'read',
  'Mutation.mlflowSearchRuns': 'read',
  'Mutation.testMutation': 'read',
  'MlflowRunExtension.experiment': 'read',
  'MlflowRunExtension.modelVersions': 'read',
});

/** The permission the `/graphql` route itself declares: the weakest any field needs. */
export const GRAPHQL_ROUTE_PERMISSION: Permission = 'read';

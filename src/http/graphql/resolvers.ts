import type { IResolvers, MercuriusContext } from 'mercurius';
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { MlflowError, missingParameter } from '../../domain/errors.ts';
import { requirePermission } from '../../domain/auth/permissions.ts';
import { currentContext } from '../../domain/request-context.ts';
import type { Services } from '../../domain/services.ts';
import { OwnedArtifacts } from '../../domain/artifacts/owned-artifacts.ts';
import type { ExperimentRecord, ViewType } from '../../store/tracking-store.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import { BatchLoader } from './batch-loader.ts';
import { GRAPHQL_FIELD_PERMISSIONS } from './field-permissions.ts';
import { gqlExperiment, gqlFileInfo, gqlMetric, gqlModelVersion, gqlRun, type GqlRun } from './presenters.ts';

/** Per-request state handed to every resolver (mercurius's context object). */
export interface GraphqlRequestContext {
  experiments: Map<string, Promise<ExperimentRecord>>;
  versionsByRun: BatchLoader<string, ModelVersionRecord[]>;
}

declare module 'mercurius' {
  // Mercurius merges the object passed to app.graphql() into the context resolvers receive.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface MercuriusContext extends GraphqlRequestContext {}
}

/** A new context for one request: loaders that batch and deduplicate within it only. */
export function newRequestContext(services: Services): GraphqlRequestContext {
  return {
    experiments: new Map(),
    versionsByRun: new BatchLoader((runIds) => modelVersionsOfRuns(services, runIds), []),
  };
}

/** Searches at most this many run ids per `run_id IN (...)` filter. */
const RUN_IDS_PER_SEARCH = 100;
const RUN_ID = /^[0-9A-Za-z_-]{1,64}$/;

/** Every registered version created from each of the runs (what upstream's per-run `run_id='…'` search gives). */
async function modelVersionsOfRuns(services: Services, runIds: string[]): Promise<Map<string, ModelVersionRecord[]>> {
  const byRun = new Map<string, ModelVersionRecord[]>();
  // Ids that could not be run ids match no version; they never reach the filter text.
  const safe = runIds.filter((id) => RUN_ID.test(id));
  for (let start = 0; start < safe.length; start += RUN_IDS_PER_SEARCH) {
    const chunk = safe.slice(start, start + RUN_IDS_PER_SEARCH);
    const filter = `run_id IN (${chunk.map((id) => `'${id}'`).join(', ')})`;
    let pageToken: string | undefined;
    do {
      const page = await services.registry.searchModelVersions({ filter, pageToken });
      for (const version of page.items) {
        if (!version.runId) continue;
        const list = byRun.get(version.runId) ?? [];
        list.push(version);
        byRun.set(version.runId, list);
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  return byRun;
}

type Args = Record<string, unknown>;
type Input = Record<string, unknown>;

/** The field's permission, checked against the running request (see field-permissions.ts). */
function guard(field: string): void {
  const permission = GRAPHQL_FIELD_PERMISSIONS[field];
  if (permission === undefined) throw new Error(`GraphQL field ${field} declares no permission`);
  requirePermission(permission, currentContext());
}

function inputOf(args: Args): Input {
  const input = args.input;
  return input !== null && typeof input === 'object' ? (input as Input) : {};
}

function optionalString(input: Input, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

function optionalNumber(input: Input, name: string): number | undefined {
  const value = input[name];
  return typeof value === 'number' ? value : undefined;
}

function stringList(input: Input, name: string): string[] {
  const value = input[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** `runId`, or the older `runUuid` (both names are in the protos). */
function runIdOf(input: Input): string {
  const runId = optionalString(input, 'runId') || optionalString(input, 'runUuid');
  if (!runId) throw missingParameter('run_id');
  return runId;
}

/**
 * `LongString`: int64 values leave as strings (JavaScript numbers lose precision past 2^53) and
 * arrive as integers, or as strings of digits.
 */
export const LongString = new GraphQLScalarType({
  name: 'LongString',
  serialize: (value) => String(value),
  parseValue: (value) => parseLong(value),
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.INT || node.kind === Kind.STRING) return parseLong(node.value);
    throw new MlflowError('INVALID_PARAMETER_VALUE', 'LongString values must be integers.');
  },
});

function parseLong(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?\d{1,16}$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid LongString value: ${JSON.stringify(value)}.`);
  }
  return Number(text);
}

/** The resolvers of GRAPHQL_SCHEMA; each calls the domain services the REST route of the same data calls. */
export function buildResolvers(services: Services): IResolvers {
  const { tracking, registry } = services;
  const owned = new OwnedArtifacts(services);

  const searchRuns = async (args: Args) => {
    const input = inputOf(args);
    const page = await tracking.searchRuns({
      experimentIds: stringList(input, 'experimentIds'),
      filter: optionalString(input, 'filter'),
      viewType: optionalString(input, 'runViewType') as ViewType | undefined,
      maxResults: optionalNumber(input, 'maxResults'),
      orderBy: stringList(input, 'orderBy'),
      pageToken: optionalString(input, 'pageToken'),
    });
    return { runs: page.items.map(gqlRun), nextPageToken: page.nextPageToken ?? '' };
  };

  return {
    LongString,
    Query: {
      mlflowGetExperiment: async (_root: unknown, args: Args) => {
        guard('Query.mlflowGetExperiment');
        const experimentId = optionalString(inputOf(args), 'experimentId');
        if (!experimentId) throw missingParameter('experiment_id');
        return { experiment: gqlExperiment(await tracking.getExperiment(experimentId)) };
      },
      mlflowGetMetricHistoryBulkInterval: async (_root: unknown, args: Args) => {
        guard('Query.mlflowGetMetricHistoryBulkInterval');
        const input = inputOf(args);
        const key = optionalString(input, 'metricKey');
        if (!key) throw missingParameter('metric_key');
        const metrics = await tracking.getMetricHistoryBulkInterval({
          runIds: stringList(input, 'runIds'),
          key,
          startStep: optionalNumber(input, 'startStep'),
          endStep: optionalNumber(input, 'endStep'),
          maxResults: optionalNumber(input, 'maxResults'),
        });
        return { metrics: metrics.map(gqlMetric) };
      },
      mlflowGetRun: async (_root: unknown, args: Args) => {
        guard('Query.mlflowGetRun');
        return { run: gqlRun(await tracking.getRun(runIdOf(inputOf(args)))) };
      },
      mlflowListArtifacts: async (_root: unknown, args: Args) => {
        guard('Query.mlflowListArtifacts');
        const input = inputOf(args);
        const listing = await owned.listRun(runIdOf(input), optionalString(input, 'path'));
        return { rootUri: listing.rootUri, files: listing.files.map(gqlFileInfo), nextPageToken: '' };
      },
      mlflowSearchModelVersions: async (_root: unknown, args: Args) => {
        guard('Query.mlflowSearchModelVersions');
        const input = inputOf(args);
        const page = await registry.searchModelVersions({
          filter: optionalString(input, 'filter'),
          maxResults: optionalNumber(input, 'maxResults'),
          orderBy: stringList(input, 'orderBy'),
          pageToken: optionalString(input, 'pageToken'),
        });
        return { modelVersions: page.items.map(gqlModelVersion), nextPageToken: page.nextPageToken ?? '' };
      },
      mlflowSearchRuns: async (_root: unknown, args: Args) => {
        guard('Query.mlflowSearchRuns');
        return searchRuns(args);
      },
      test: (_root: unknown, args: Args) => {
        guard('Query.test');
        return { output: typeof args.inputString === 'string' ? args.inputString : null };
      },
    },
    Mutation: {
      mlflowSearchDatasets: async (_root: unknown, args: Args) => {
        guard('Mutation.mlflowSearchDatasets');
        const summaries = await tracking.searchDatasets(stringList(inputOf(args), 'experimentIds'));
        return {
          datasetSummaries: summaries.map((s) => ({ experimentId: s.experimentId, name: s.name, digest: s.digest, context: s.context ?? '' })),
        };
      },
      mlflowSearchRuns: async (_root: unknown, args: Args) => {
        guard('Mutation.mlflowSearchRuns');
        return searchRuns(args);
      },
      testMutation: (_root: unknown, args: Args) => {
        guard('Mutation.testMutation');
        return { output: typeof args.inputString === 'string' ? args.inputString : null };
      },
    },
    MlflowRunExtension: {
      experiment: async (run: GqlRun, _args: Args, context: MercuriusContext) => {
        guard('MlflowRunExtension.experiment');
        let experiment = context.experiments.get(run.experimentId);
        if (!experiment) {
          experiment = tracking.getExperiment(run.experimentId);
          context.experiments.set(run.experimentId, experiment);
        }
        return gqlExperiment(await experiment);
      },
      modelVersions: async (run: GqlRun, _args: Args, context: MercuriusContext) => {
        guard('MlflowRunExtension.modelVersions');
        return (await context.versionsByRun.load(run.runId)).map(gqlModelVersion);
      },
    },
  };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildResolvers } from './resolvers.ts';
import { MlflowError } from '../../domain/errors.ts';
import { runWithContext, type RequestContext } from '../../domain/request-context.ts';
import type { Services } from '../../domain/services.ts';

/** Services that fail the test if a resolver reaches them. */
const untouchable = new Proxy({} as Services, {
  get: (_target, name) =>
    new Proxy({}, {
      get: (_inner, method) => () => {
        throw new Error(`resolver reached services.${String(name)}.${String(method)} before its permission check`);
      },
    }),
});

function context(overrides: Partial<RequestContext>): RequestContext {
  return {
    project: { id: 7, name: 'alpha' },
    principal: { kind: 'user', userId: 3, username: 'someone', isAdmin: false, via: 'password' },
    role: 'reporter',
    authEnabled: true,
    requestId: null,
    sourceAddress: null,
    ...overrides,
  };
}

type Resolver = (root: unknown, args: Record<string, unknown>, ctx: unknown) => unknown;

describe('GraphQL resolvers', () => {
  const resolvers = buildResolvers(untouchable) as unknown as Record<string, Record<string, Resolver>>;

  it('check each field’s permission against the request before calling any service', async () => {
    const stranger = context({ role: null });
    const fields: Array<[string, string, Record<string, unknown>]> = [
      ['Query', 'mlflowGetRun', { input: { runId: 'r' } }],
      ['Query', 'mlflowGetExperiment', { input: { experimentId: '1' } }],
      ['Query', 'mlflowSearchRuns', { input: {} }],
      ['Query', 'mlflowListArtifacts', { input: { runId: 'r' } }],
      ['Query', 'mlflowGetMetricHistoryBulkInterval', { input: { runIds: ['r'], metricKey: 'm' } }],
      ['Query', 'mlflowSearchModelVersions', { input: {} }],
      ['Mutation', 'mlflowSearchDatasets', { input: {} }],
      ['MlflowRunExtension', 'experiment', {}],
      ['MlflowRunExtension', 'modelVersions', {}],
    ];
    for (const [type, field, args] of fields) {
      await assert.rejects(
        async () => runWithContext(stranger, async () => resolvers[type]![field]!({ runId: 'r', experimentId: '1' }, args, {})),
        (error: unknown) => error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST' && /Project 'alpha'/.test(error.message),
        `${type}.${field}`,
      );
    }
  });

  it('refuse a caller without credentials on a server with authentication', async () => {
    const anonymous = context({ principal: { kind: 'anonymous', userId: null, username: 'anonymous', isAdmin: false, via: 'none' }, role: null });
    await assert.rejects(
      async () => runWithContext(anonymous, async () => resolvers.Query!.test!(undefined, { inputString: 'x' }, {})),
      (error: unknown) => error instanceof MlflowError && error.code === 'UNAUTHENTICATED',
    );
  });

  it('echo the test field for a member', async () => {
    const answer = await runWithContext(context({}), async () => resolvers.Query!.test!(undefined, { inputString: 'x' }, {}));
    assert.deepEqual(answer, { output: 'x' });
  });
});

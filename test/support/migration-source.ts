import type { MigrationSource, SourceRun } from '../../src/domain/import/source.ts';

/**
 * A migration source for tests that holds nothing (no experiments, runs, models or files) except
 * what `parts` puts in: each test states only the objects it is about.
 */
export function migrationSource(parts: Partial<MigrationSource> = {}): MigrationSource {
  return {
    description: 'a test source',
    key: 'test',
    warnings: [],
    async *experiments() {},
    async *runs() {},
    async metricHistory() {
      return [];
    },
    async *loggedModels() {},
    async *registeredModels() {},
    async modelVersions() {
      return [];
    },
    async *listArtifacts() {},
    async openArtifact() {
      throw new Error('no files');
    },
    async close() {},
    ...parts,
  };
}

/** A finished, active run with nothing logged: tests override only the fields they are about. */
export function sourceRun(runId: string, experimentId: string, info: Partial<SourceRun['info']> = {}): SourceRun {
  return {
    info: { runId, runName: runId, experimentId, userId: 'u', status: 'FINISHED', startTime: 1, endTime: 2, lifecycleStage: 'active', artifactUri: '', ...info },
    params: [],
    tags: [],
    latestMetrics: [],
    datasetInputs: [],
    modelInputs: [],
    modelOutputs: [],
  };
}

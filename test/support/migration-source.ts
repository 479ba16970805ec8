import type { MigrationSource } from '../../src/domain/import/source.ts';

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

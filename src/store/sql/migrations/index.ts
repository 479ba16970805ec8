import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.ts';
import * as modelRegistry from './0002-model-registry.ts';
import * as webhooksEvents from './0003-webhooks-events.ts';
import * as authAudit from './0004-auth-audit.ts';
import * as metricRollups from './0005-metric-rollups.ts';
import * as projectIdSequence from './0006-project-id-sequence.ts';
import * as tracing from './0007-tracing.ts';
import * as evaluationDatasets from './0008-evaluation-datasets.ts';
import * as importState from './0010-import.ts';
import * as latestMetricsExperiment from './0011-latest-metrics-experiment.ts';
import * as searchStatistics from './0012-search-statistics.ts';
import * as metricRollupTops from './0013-metric-rollup-tops.ts';

/** The one migration list, for SQLite and PostgreSQL alike. Append; never edit a released entry. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001-initial': initial,
      '0002-model-registry': modelRegistry,
      '0003-webhooks-events': webhooksEvents,
      '0004-auth-audit': authAudit,
      '0005-metric-rollups': metricRollups,
      '0006-project-id-sequence': projectIdSequence,
      '0007-tracing': tracing,
      '0008-evaluation-datasets': evaluationDatasets,
      '0010-import': importState,
      '0011-latest-metrics-experiment': latestMetricsExperiment,
      '0012-search-statistics': searchStatistics,
      '0013-metric-rollup-tops': metricRollupTops,
    };
  },
};

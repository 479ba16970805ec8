import { prefetchExperiment } from '../../experiments/api/experiments-api.ts';
import { storedChartSettings } from '../utils/chart-settings.ts';
import { DEFAULT_MAX_BUCKETS, prefetchDownsampled } from './metrics-api.ts';
import { prefetchRun } from './runs-api.ts';

/**
 * The run page's first requests, started from its URL while the page's code loads: the run and its
 * experiment, and on the metrics tab each metric's chart as the page will ask for it (one run,
 * the stored x axis, whole range) as soon as the run names its metrics.
 */
export function prefetchRunPage(experimentId: string, runId: string, url: URL): void {
  const run = prefetchRun(runId);
  prefetchExperiment(experimentId);
  if (url.searchParams.get('tab') !== 'metrics') return;
  const xAxis = storedChartSettings().xMode === 'step' ? 'step' : 'timestamp';
  run
    .then((r) => {
      for (const key of new Set((r.data.metrics ?? []).map((m) => m.key))) prefetchDownsampled({ runIds: [runId], key, xAxis, maxBuckets: DEFAULT_MAX_BUCKETS });
    })
    .catch(() => undefined);
}

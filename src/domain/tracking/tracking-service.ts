import { TrackingLoggedModels } from './tracking-logged-models.ts';

export {
  DEFAULT_PROJECT_ID,
  DOWNSAMPLE_LIMITS,
  LOGGED_MODEL_STATUSES,
  RUN_STATUSES,
  type Clock,
  type MetricInput,
  type RunStatus,
  type SearchPage,
} from './tracking-base.ts';
export { parseRunStatus } from './tracking-runs.ts';

/**
 * The tracking rules: experiment and run lifecycle, param immutability, metric history, run
 * search, datasets, and MLflow 3 logged models. Everything here is transport-free; the HTTP
 * layer parses requests into these calls and presents the records it gets back.
 *
 * The rules live one entity per file (tracking-experiments.ts, tracking-runs.ts,
 * tracking-run-logging.ts, tracking-metric-history.ts, tracking-inputs-outputs.ts,
 * tracking-logged-models.ts, on top of tracking-base.ts); this class is their sum.
 */
export class TrackingService extends TrackingLoggedModels {}

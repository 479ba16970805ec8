import { MlflowError } from '../errors.ts';

/** MLflow's limits (mlflow/utils/validation.py). */
export const LIMITS = {
  entityKey: 250,
  paramValue: 6000,
  runTagValue: 8000,
  experimentName: 500,
  experimentTagValue: 5000,
  artifactLocation: 2048,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  batchBytes: 1_000_000,
  datasetName: 500,
  datasetDigest: 36,
  datasetSchema: 1_048_575,
  datasetSource: 65_535,
  datasetProfile: 16_777_215,
  inputTagKey: 255,
  inputTagValue: 500,
  datasetsPerRequest: 1000,
  searchMaxResults: 50_000,
  searchDefaultResults: 1000,
  metricHistoryMaxResults: 25_000,
  bulkIntervalRuns: 100,
  bulkIntervalMaxResults: 2500,
} as const;

const VALID_NAME = /^[/\w.\- :]*$/;

function invalidName(name: string, field: string): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid value "${name}" for parameter '${field}' supplied. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
  );
}

/**
 * Param and metric names: MLflow's character set, and a normalised relative path (they become
 * file names in MLflow's file store, and users rely on the same names working everywhere).
 */
export function validateParamOrMetricName(name: string, field = 'key'): void {
  if (!VALID_NAME.test(name)) throw invalidName(name, field);
  validateKeyShape(name, field);
}

/** Tag keys: any characters, but a sane relative-path shape and MLflow's length limit. */
export function validateTagKey(name: string, field = 'key'): void {
  validateKeyShape(name, field);
}

function validateKeyShape(name: string, field: string): void {
  if (name.length === 0 || name === '.' || name.startsWith('/') || name.split('/').includes('..')) {
    throw MlflowError.invalidParameter(`Invalid value "${name}" for parameter '${field}' supplied. Names must be a normalized and relative path.`);
  }
  validateLength(name, LIMITS.entityKey, field);
}

export function validateLength(value: string, limit: number, field: string): void {
  if (value.length > limit) {
    throw MlflowError.invalidParameter(
      `'${field}' exceeds the maximum length of ${limit} characters (got ${value.length}).`,
    );
  }
}

export function validateParamValue(key: string, value: string): void {
  if (value.length > LIMITS.paramValue) {
    throw MlflowError.invalidParameter(
      `Param value '${value.slice(0, 40)}...' had length ${value.length}, which exceeded length limit of ${LIMITS.paramValue} (param key '${key}').`,
    );
  }
}

export function validateRunTagValue(key: string, value: string): void {
  if (value.length > LIMITS.runTagValue) {
    throw MlflowError.invalidParameter(
      `Tag value '${value.slice(0, 40)}...' had length ${value.length}, which exceeded length limit of ${LIMITS.runTagValue} (tag key '${key}').`,
    );
  }
}

export function validateExperimentName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw MlflowError.invalidParameter(`Invalid experiment name: ${JSON.stringify(name ?? '')}. Expects a non-empty string.`);
  }
  validateLength(name, LIMITS.experimentName, 'name');
  return name;
}

export function validateMetricValue(key: string, value: number, timestamp: number, step: number): void {
  if (typeof value !== 'number') {
    throw MlflowError.invalidParameter(`Got invalid value ${String(value)} for metric '${key}'. Please specify value as a valid double.`);
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw MlflowError.invalidParameter(`Got invalid timestamp ${timestamp} for metric '${key}'. Timestamp must be a nonnegative long (64-bit integer).`);
  }
  if (!Number.isSafeInteger(step)) {
    throw MlflowError.invalidParameter(`Got invalid step ${step} for metric '${key}'. Step must be a valid long (64-bit integer).`);
  }
}

/**
 * search max_results for runs, experiments and logged models, with MLflow 3.18's sentences: the
 * run search refuses an oversized page through its generic field check (`overLimit: 'hint'`), the
 * experiment search names the limit.
 */
export function validateSearchMaxResults(maxResults: number, overLimit: 'hint' | 'limit' = 'limit'): void {
  if (!Number.isSafeInteger(maxResults) || maxResults <= 0) {
    throw MlflowError.invalidParameter(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`);
  }
  if (maxResults > LIMITS.searchMaxResults) {
    throw MlflowError.invalidParameter(
      overLimit === 'hint'
        ? `Invalid value ${maxResults} for parameter 'max_results' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.`
        : `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${LIMITS.searchMaxResults}`,
    );
  }
}

export function validateRunId(runId: string): void {
  if (!/^[a-zA-Z0-9][\w-]{0,255}$/.test(runId)) {
    throw MlflowError.invalidParameter(`Invalid run ID: '${runId}'`);
  }
}

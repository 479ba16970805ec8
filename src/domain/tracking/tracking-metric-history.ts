import { MlflowError, missingParameter } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import type { DownsampledSeries, MetricRecord, RunInfoRecord, SortValue } from '../../store/tracking-store.ts';
import { LIMITS } from './validation.ts';
import { TrackingRunLogging } from './tracking-run-logging.ts';
import { DOWNSAMPLE_LIMITS, type SearchPage } from './tracking-base.ts';

const API_DOCS = 'See the API docs for more information about request parameters.';

/** Reading metric histories back: paged, sampled across runs, and downsampled for charts. */
export class TrackingMetricHistory extends TrackingRunLogging {
  async getMetricHistory(input: {
    runId: string;
    key: string;
    maxResults?: number | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<MetricRecord>> {
    const info = await this.runInfo(input.runId);
    const position = decodePageToken(input.pageToken);
    const maxResults = input.maxResults ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(maxResults) || maxResults <= 0) {
      throw MlflowError.invalidParameter(`Invalid value for request parameter max_results. It must be a positive integer, but got ${maxResults}`);
    }
    // Fetch one extra point to know whether another page exists.
    const limit = maxResults === Number.MAX_SAFE_INTEGER ? maxResults : maxResults + 1;
    const after = historyPosition(position.after, input.pageToken);
    const points = await this.store.getMetricHistory({ runPk: info.pk, key: input.key, maxResults: limit, offset: after ? 0 : position.offset, after });
    if (points.length > maxResults) {
      // A keyset token: the last point's (step, timestamp, value); the next page starts after it.
      const last = points[maxResults - 1] as MetricRecord;
      return { items: points.slice(0, maxResults), nextPageToken: encodePageToken({ offset: 0, snapshot: null, after: [last.step, last.timestamp, last.value] }) };
    }
    return { items: points };
  }

  async getMetricHistoryBulkInterval(input: {
    runIds: string[];
    key: string;
    startStep?: number | undefined;
    endStep?: number | undefined;
    maxResults?: number | undefined;
  }): Promise<MetricRecord[]> {
    // MLflow's order of checks and its sentences (its handler adds the API-docs pointer to the first ones).
    if (input.runIds.length === 0) throw missingParameter('run_ids');
    if (input.runIds.length > LIMITS.bulkIntervalRuns) {
      throw MlflowError.invalidParameter(
        `GetMetricHistoryBulkInterval request must specify at most ${LIMITS.bulkIntervalRuns} run_ids. Received ${input.runIds.length} run_ids. ${API_DOCS}`,
      );
    }
    if (!input.key) throw missingParameter('metric_key');
    const maxResults = input.maxResults ?? LIMITS.bulkIntervalMaxResults;
    if (!Number.isSafeInteger(maxResults) || maxResults <= 0 || maxResults > LIMITS.bulkIntervalMaxResults) {
      throw MlflowError.invalidParameter(`max_results must be between 1 and ${LIMITS.bulkIntervalMaxResults}. ${API_DOCS}`);
    }
    if (input.startStep !== undefined && input.endStep !== undefined) {
      if (input.startStep > input.endStep) {
        throw MlflowError.invalidParameter(
          `end_step must be greater than start_step. Found start_step=${input.startStep} and end_step=${input.endStep}.`,
        );
      }
    } else if (input.startStep !== undefined || input.endStep !== undefined) {
      throw MlflowError.invalidParameter('If either start step or end step are specified, both must be specified.');
    }
    const runs: Array<{ pk: number; runId: string }> = [];
    for (const runId of input.runIds) {
      const info = await this.runInfo(runId);
      runs.push({ pk: info.pk, runId: info.runId });
    }
    return this.store.getMetricHistorySampled({
      runs,
      key: input.key,
      startStep: input.startStep ?? null,
      endStep: input.endStep ?? null,
      maxPoints: maxResults,
    });
  }

  /**
   * Metric histories of up to 100 runs reduced for drawing (Trove's UI endpoint): each series is
   * cut into at most `maxBuckets` buckets along the step or wall-time axis, keeping the min and
   * max of each bucket so spikes survive. Series with at most 2 × maxBuckets points come back whole.
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown run, INVALID_PARAMETER_VALUE for bad bounds.
   */
  async getMetricSeriesDownsampled(input: {
    runIds: string[];
    key: string;
    xAxis?: string | undefined;
    start?: number | undefined;
    end?: number | undefined;
    maxBuckets?: number | undefined;
  }): Promise<Array<DownsampledSeries & { runId: string }>> {
    if (input.runIds.length === 0) throw MlflowError.invalidParameter('At least one run_id is required.');
    if (input.runIds.length > DOWNSAMPLE_LIMITS.runs) {
      throw MlflowError.invalidParameter(`At most ${DOWNSAMPLE_LIMITS.runs} run_ids are allowed, got ${input.runIds.length}.`);
    }
    const xAxis = input.xAxis ?? 'step';
    if (xAxis !== 'step' && xAxis !== 'timestamp') {
      throw MlflowError.invalidParameter(`Invalid x_axis '${xAxis}'. Valid values are step, timestamp.`);
    }
    const maxBuckets = input.maxBuckets ?? DOWNSAMPLE_LIMITS.defaultBuckets;
    if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1 || maxBuckets > DOWNSAMPLE_LIMITS.maxBuckets) {
      throw MlflowError.invalidParameter(`max_buckets must be between 1 and ${DOWNSAMPLE_LIMITS.maxBuckets}, got ${maxBuckets}.`);
    }
    if (input.start !== undefined && input.end !== undefined && input.start > input.end) {
      throw MlflowError.invalidParameter(`start must not be greater than end (start=${input.start}, end=${input.end}).`);
    }
    const runs: RunInfoRecord[] = [];
    for (const runId of input.runIds) runs.push(await this.runInfo(runId));
    const result: Array<DownsampledSeries & { runId: string }> = [];
    for (const run of runs) {
      const series = await this.store.getMetricSeriesDownsampled({
        runPk: run.pk,
        key: input.key,
        xAxis,
        start: input.start ?? null,
        end: input.end ?? null,
        maxBuckets,
      });
      result.push({ ...series, runId: run.runId });
    }
    return result;
  }
}

/**
 * A metric history page token's keyset position: `after` is [step, timestamp, value] of the last
 * point sent (value may be NaN or ±Infinity). Offset tokens (written before keyset paging) carry no
 * `after` and are still honoured by their offset.
 */
function historyPosition(after: SortValue[] | undefined, token: string | undefined): { step: number; timestamp: number; value: number } | undefined {
  if (after === undefined) return undefined;
  const [step, timestamp, value] = after;
  if (after.length !== 3 || !Number.isSafeInteger(step) || !Number.isSafeInteger(timestamp) || typeof value !== 'number') {
    throw MlflowError.invalidParameter(`Invalid page token, parsed value=${Buffer.from(token ?? '', 'base64').toString('utf8')}`);
  }
  return { step: step as number, timestamp: timestamp as number, value };
}

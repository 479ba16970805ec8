/**
 * A batch of one run's metric points as columns, as the log-batch body reader builds it straight
 * from the request's bytes (src/http/log-batch-body.ts): each distinct key once, then one typed
 * array per field. A 1,000-point batch lives until its group commit's fdatasync; as objects, every
 * point survived the young generation's scavenges and was promoted to old space. The typed
 * arrays' contents live outside the V8 heap and are never copied by the garbage collector.
 *
 * Only plain points travel this way (no model id, no dataset); a batch with any of those, or
 * anything else unusual, arrives as `MetricInput` objects.
 */
export interface MetricColumns {
  readonly kind: 'metric-columns';
  readonly length: number;
  /** The distinct keys, in order of first appearance. */
  readonly keys: readonly string[];
  /** Per point: its key's index in `keys`. */
  readonly keyIndex: Uint32Array;
  /** Per point: the value; NaN and ±Infinity as themselves. */
  readonly value: Float64Array;
  /** Per point: safe integers. */
  readonly timestamp: Float64Array;
  readonly step: Float64Array;
}

export function isMetricColumns(metrics: object): metrics is MetricColumns {
  return (metrics as { kind?: unknown }).kind === 'metric-columns';
}

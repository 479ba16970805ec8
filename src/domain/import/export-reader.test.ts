import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import type { RegistryStore } from '../../store/registry-store.ts';
import type { TraceStore } from '../../store/trace-store.ts';
import type { MetricHistoryQuery, MetricRecord, RunRecord, TrackingStore } from '../../store/tracking-store.ts';
import { ExportReader } from './export-reader.ts';

/** A series in the store's order, (step, timestamp, value), answered the way the SQL stores answer. */
function seriesStore(points: MetricRecord[]): { store: TrackingStore; queries: MetricHistoryQuery[] } {
  const queries: MetricHistoryQuery[] = [];
  const after = (p: MetricRecord, a: NonNullable<MetricHistoryQuery['after']>): boolean =>
    p.step !== a.step ? p.step > a.step : p.timestamp !== a.timestamp ? p.timestamp > a.timestamp : p.value > a.value;
  const fake: Pick<TrackingStore, 'getMetricHistory'> = {
    async getMetricHistory(query) {
      queries.push(query);
      const from = query.after ? points.filter((p) => after(p, query.after!)) : points.slice(query.offset);
      return from.slice(0, query.maxResults);
    },
  };
  // Only getMetricHistory is reached by metricHistory(); the cast says so instead of stubbing the rest.
  return { store: fake as TrackingStore, queries };
}

describe('the export reader', () => {
  test('reads a long metric history by keyset pages: every point once, in order, each page after the last point read', async () => {
    // 60,000 points over 3 pages of 25,000, with steps repeated at several timestamps.
    const points: MetricRecord[] = Array.from({ length: 60_000 }, (_, i) => ({ key: 'loss', step: Math.floor(i / 3), timestamp: 1_000 + (i % 3), value: i / 7 }));
    const { store, queries } = seriesStore(points);
    const reader = new ExportReader(
      { tracking: store, registry: {} as RegistryStore, artifacts: {} as ArtifactStore, traces: {} as TraceStore },
      0,
    );
    const read: MetricRecord[] = [];
    for await (const point of reader.metricHistory({ info: { pk: 7 } } as RunRecord, 'loss')) read.push(point);

    assert.deepEqual(read, points);
    assert.equal(queries.length, 3);
    assert.ok(queries.every((q) => q.offset === 0 && q.runPk === 7 && q.key === 'loss'));
    assert.equal(queries[0]?.after, undefined);
    const lastOfFirstPage = points[24_999]!;
    assert.deepEqual(queries[1]?.after, { step: lastOfFirstPage.step, timestamp: lastOfFirstPage.timestamp, value: lastOfFirstPage.value });
  });

  test('a history of exactly one page ends after one more empty read', async () => {
    const points: MetricRecord[] = Array.from({ length: 25_000 }, (_, i) => ({ key: 'acc', step: i, timestamp: i, value: 0.5 }));
    const { store, queries } = seriesStore(points);
    const reader = new ExportReader({ tracking: store, registry: {} as RegistryStore, artifacts: {} as ArtifactStore, traces: {} as TraceStore }, 0);
    let count = 0;
    for await (const _ of reader.metricHistory({ info: { pk: 1 } } as RunRecord, 'acc')) count += 1;
    assert.equal(count, 25_000);
    assert.equal(queries.length, 2);
  });
});

/**
 * Page 1 against the keyset deep page of the benchmark's filtered search, on a database seeded by
 * bench/search-profile.ts (`PROFILE_RUNS=25000 PROFILE_PER_EXPERIMENT=25000 PROFILE_ONLY=none`):
 * the statements the store issues for each (captured through the database's query hook), their
 * plans with the rows and buffers they touch (PostgreSQL `EXPLAIN (ANALYZE, BUFFERS)`, SQLite
 * `EXPLAIN QUERY PLAN`), then both pages timed alternately at the store (median, p90, this
 * process's CPU per call, load average). Not a test; figures go to docs/benchmarks.md by hand.
 *
 *   node --import tsx bench/keyset-deep.ts sqlite:////tmp/trove-profile/trove.db
 *   node --import tsx bench/keyset-deep.ts postgresql://trove:trove@127.0.0.1:54400/trove_profile
 *
 * KEYSET_DEEP (12500: rows before the deep page), KEYSET_SAMPLES (300 per page), KEYSET_EXPLAIN
 * (1; 0 skips the plans).
 */
import os from 'node:os';
import { CompiledQuery } from 'kysely';
import { openDatabase } from '../src/store/sql/database.ts';
import { SqlTrackingStore } from '../src/store/sql/sql-tracking-store.ts';
import { parseRunFilter, parseRunOrderBy } from '../src/domain/search/run-search.ts';
import type { PagePosition, RunSearchQuery, StoreFilterClause, StoreOrderBy } from '../src/store/tracking-store.ts';

const uri = process.argv[2];
if (!uri) throw new Error('usage: keyset-deep.ts <backend store uri>');
const DEEP = Number(process.env.KEYSET_DEEP ?? 12_500);
const SAMPLES = Number(process.env.KEYSET_SAMPLES ?? 300);
const EXPLAIN = process.env.KEYSET_EXPLAIN !== '0';

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const p90 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)] as number;

let capture: CompiledQuery[] | undefined;
const database = await openDatabase(uri, { onQuery: (query) => capture?.push(query) });
try {
  const store = new SqlTrackingStore(database.db);
  const experiments = await database.db.selectFrom('experiments').select('experiment_id').where('name', 'like', 'search-%').execute();
  const query: RunSearchQuery = {
    experimentIds: experiments.map((e) => String(e.experiment_id)),
    // The domain's parsed clauses are what the store receives (the domain resolves nothing more for these).
    filter: parseRunFilter("metrics.acc > 0.3 and params.model = 'a'") as StoreFilterClause[],
    orderBy: parseRunOrderBy(['metrics.acc DESC']) as StoreOrderBy[],
    viewType: 'ACTIVE_ONLY',
    maxResults: 100,
    page: { offset: 0, snapshot: null },
  };
  const deepPosition = (await store.searchRuns({ ...query, maxResults: DEEP })).next as PagePosition;
  const pages: Array<[string, RunSearchQuery]> = [
    ['page 1', query],
    [`page after ${DEEP.toLocaleString('en')} (keyset)`, { ...query, page: deepPosition }],
  ];
  console.log(`${database.dialect}: ${experiments.length} experiment(s); deep position ${JSON.stringify(deepPosition)}; load ${load()}`);

  if (EXPLAIN) {
    for (const [label, pageQuery] of pages) {
      capture = [];
      await store.searchRuns(pageQuery);
      const captured = capture;
      capture = undefined;
      console.log(`\n===== ${label}: ${captured.length} statement(s)`);
      for (const statement of captured) {
        console.log(`\n-- ${statement.sql.replace(/\s+/g, ' ')}\n-- parameters ${JSON.stringify(statement.parameters)}`);
        const text =
          database.dialect === 'postgres'
            ? `explain (analyze, buffers, timing off, summary on) ${statement.sql}`
            : `explain query plan ${statement.sql}`;
        const result = await database.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...statement.parameters]));
        for (const row of result.rows) console.log(String(row['QUERY PLAN'] ?? row.detail));
      }
    }
  }

  // Each page's statements alone, alternated: PostgreSQL's own planning and execution time per
  // statement (EXPLAIN ANALYZE, median), and the statement's round trip from this process.
  const statements: Array<{ label: string; query: CompiledQuery; planning: number[]; execution: number[]; wall: number[] }> = [];
  for (const [label, pageQuery] of pages) {
    capture = [];
    await store.searchRuns(pageQuery);
    for (const [i, query] of capture.entries()) statements.push({ label: `${label} #${i + 1}`, query, planning: [], execution: [], wall: [] });
    capture = undefined;
  }
  if (database.dialect === 'postgres' && SAMPLES > 0) {
    for (let i = 0; i < Math.min(SAMPLES, 200); i++) {
      for (const s of statements) {
        const t0 = performance.now();
        await database.db.executeQuery(s.query);
        s.wall.push(performance.now() - t0);
        const explained = await database.db.executeQuery<{ 'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }> }>(
          CompiledQuery.raw(`explain (analyze, timing off, summary on, format json) ${s.query.sql}`, [...s.query.parameters]),
        );
        const summary = explained.rows[0]!['QUERY PLAN'][0]!;
        s.planning.push(summary['Planning Time']);
        s.execution.push(summary['Execution Time']);
      }
    }
    console.log(`\nstatements alone, ${Math.min(SAMPLES, 200)} samples each, alternated (medians); load ${load()}`);
    for (const s of statements) {
      console.log(`${s.label.padEnd(34)} ${s.query.sql.replace(/\s+/g, ' ').slice(0, 40).padEnd(40)} planning ${median(s.planning).toFixed(3)} ms  execution ${median(s.execution).toFixed(3)} ms  round trip ${median(s.wall).toFixed(3)} ms`);
    }
  }

  // Alternate the two pages so that load changes hit both alike.
  const times = pages.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < 20; i++) for (const [, q] of pages) await store.searchRuns(q);
  const before = load();
  for (let i = 0; i < SAMPLES; i++) {
    for (const [p, [, q]] of pages.entries()) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await store.searchRuns(q);
      const slot = times[p]!;
      slot.wall.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      slot.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  console.log(`\nstore.searchRuns, ${SAMPLES} samples each, alternated; load before ${before}, after ${load()}`);
  for (const [p, [label]] of pages.entries()) {
    const t = times[p]!;
    console.log(`${label.padEnd(30)} median ${median(t.wall).toFixed(2)} ms  p90 ${p90(t.wall).toFixed(2)} ms  min ${Math.min(...t.wall).toFixed(2)} ms  Node CPU median ${median(t.cpu).toFixed(2)} ms/call${database.dialect === 'sqlite' ? ' (SQLite runs in this process)' : ''}`);
  }
} finally {
  await database.close();
}
